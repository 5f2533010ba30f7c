/**
 * `POST /files/upload/init`, `GET /files/uploads`, `GET /files/upload/{sessionId}`,
 * `POST …/{sessionId}/complete`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  PendingUploadsResponse,
  SessionParams,
  UploadCompleteRequest,
  UploadCompleteResponse,
  UploadInitRequest,
  UploadInitResponse,
  UploadStatusResponse,
} from '../../../protocol/schemas/files.ts'
import { completeUpload } from '../../services/complete.ts'
import { initUpload, pendingUploads, uploadStatus } from '../../services/uploads.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

export const uploadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/files/upload/init',
    {
      schema: {
        summary:
          'Open an upload: answers the chunks the store lacks, with presigned PUT URLs, and challenges for chunks other accounts stored (global domain)',
        tags: ['files'],
        security: deviceSecurity,
        body: UploadInitRequest,
        response: { 201: UploadInitResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      reply.code(201)
      return initUpload(app, request.device, request.body)
    },
  )

  app.get(
    '/files/uploads',
    {
      schema: {
        summary:
          "The account's open upload sessions, with their manifests and bases: what LAN devices may pull and place ahead of the commit",
        tags: ['files'],
        security: deviceSecurity,
        response: { 200: PendingUploadsResponse, ...errorResponses },
      },
    },
    async (request) => pendingUploads(app, request.device),
  )

  app.get(
    '/files/upload/:sessionId',
    {
      schema: {
        summary:
          'Resume an upload (any device of the account may): what is still missing, with fresh URLs',
        tags: ['files'],
        security: deviceSecurity,
        params: SessionParams,
        response: { 200: UploadStatusResponse, ...errorResponses },
      },
    },
    async (request) => uploadStatus(app, request.device, request.params.sessionId),
  )

  app.post(
    '/files/upload/:sessionId/complete',
    {
      schema: {
        summary:
          "Commit an upload whose chunks are all stored, with proofs for its challenges (global domain); any device of the account may, on the uploader's behalf",
        tags: ['files'],
        security: deviceSecurity,
        params: SessionParams,
        body: UploadCompleteRequest,
        response: { 200: UploadCompleteResponse, ...errorResponses },
      },
      // Proofs are optional, so a client may POST no body at all: that means `{}`.
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request) =>
      completeUpload(app, request.device, request.params.sessionId, request.body ?? {}),
  )
}
