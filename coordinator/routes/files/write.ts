/**
 * `DELETE /files/{fileId}` and `POST /files/{fileId}/move`. Both name the version they
 * were based on; a stale one is a 409 STALE_BASE with the current version, and nothing is
 * written (the device syncs and decides again).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  DeleteFileRequest,
  FileMetadata,
  FileParams,
  FileSummary,
  MoveFileRequest,
} from '../../../protocol/schemas/files.ts'
import { publishChanges } from '../../services/changes.ts'
import { ownFile, toMetadata, toSummary } from '../../services/files.ts'
import { checkPath } from '../../services/uploads.ts'
import { deleteFile, moveFile } from '../../store/delete-move.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

export const writeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['files'], security: deviceSecurity }

  app.delete(
    '/files/:fileId',
    {
      schema: {
        ...common,
        summary: 'Delete a file (the tombstone is answered)',
        params: FileParams,
        body: DeleteFileRequest,
        response: { 200: FileSummary, ...errorResponses },
      },
    },
    async (request) => {
      const { accountId, deviceId } = request.device
      const { fileId } = request.params
      const result = await deleteFile(app.db, {
        accountId,
        deviceId,
        fileId,
        baseVersion: request.body.baseVersion,
        now: app.now(),
      })
      if (result.seq !== null) publishChanges(app, accountId, [result.seq])
      return toSummary(await ownFile(app, accountId, fileId))
    },
  )

  app.post(
    '/files/:fileId/move',
    {
      schema: {
        ...common,
        summary: 'Rename or move a file; its id and version stay',
        params: FileParams,
        body: MoveFileRequest,
        response: { 200: FileMetadata, ...errorResponses },
      },
    },
    async (request) => {
      const { accountId, deviceId } = request.device
      const { fileId } = request.params
      const result = await moveFile(app.db, {
        accountId,
        deviceId,
        fileId,
        baseVersion: request.body.baseVersion,
        toPath: checkPath(app, request.body.to, 'to'),
        now: app.now(),
      })
      if (result.seq !== null) publishChanges(app, accountId, [result.seq])
      return toMetadata(await ownFile(app, accountId, fileId))
    },
  )
}
