/** `GET /files/{fileId}/metadata`, `/download`, `GET /files/by-path`, `GET /files` (list). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CloudsyncError } from '../../../protocol/errors.ts'
import { PAGE_LIMIT_DEFAULT } from '../../../protocol/schemas/common.ts'
import {
  ByPathQuery,
  DownloadQuery,
  DownloadResponse,
  FileMetadata,
  FileParams,
  ListFilesQuery,
  ListFilesResponse,
} from '../../../protocol/schemas/files.ts'
import { MetadataQuery } from '../../../protocol/schemas/history.ts'
import { downloadFile, fileMetadata, toMetadata, toSummary } from '../../services/files.ts'
import { checkPath } from '../../services/uploads.ts'
import { getFileByPath, listFiles } from '../../store/file-reads.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

/** Page tokens are the last path of a page, base64url: opaque to clients, stable keyset. */
const encodePage = (path: string) => Buffer.from(path, 'utf8').toString('base64url')
const decodePage = (token: string) => Buffer.from(token, 'base64url').toString('utf8')

export const readRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['files'], security: deviceSecurity }

  app.get(
    '/files/:fileId/metadata',
    {
      schema: {
        ...common,
        summary:
          'A file: path, version, size, hash, chunk list, update time; an older version when named',
        params: FileParams,
        querystring: MetadataQuery,
        response: { 200: FileMetadata, ...errorResponses },
      },
    },
    async (request) =>
      fileMetadata(app, request.device.accountId, request.params.fileId, request.query.version),
  )

  app.get(
    '/files/:fileId/download',
    {
      schema: {
        ...common,
        summary: 'Presigned GET URLs for every chunk of a version, and their expiry',
        params: FileParams,
        querystring: DownloadQuery,
        response: { 200: DownloadResponse, ...errorResponses },
      },
    },
    async (request) =>
      downloadFile(app, request.device.accountId, request.params.fileId, request.query.version),
  )

  app.get(
    '/files/by-path',
    {
      schema: {
        ...common,
        summary: 'The live file at a path',
        querystring: ByPathQuery,
        response: { 200: FileMetadata, ...errorResponses },
      },
    },
    async (request) => {
      const path = checkPath(app, request.query.path)
      const file = await getFileByPath(app.db, request.device.accountId, path)
      if (!file) throw new CloudsyncError('NOT_FOUND', `No file at ${path}`, { path })
      return toMetadata(file)
    },
  )

  app.get(
    '/files',
    {
      schema: {
        ...common,
        summary: 'Live files in path order, a page at a time',
        querystring: ListFilesQuery,
        response: { 200: ListFilesResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { prefix, cursor, limit } = request.query
      const page = await listFiles(app.db, request.device.accountId, {
        ...(prefix !== undefined && { prefix }),
        ...(cursor !== undefined && { after: decodePage(cursor) }),
        limit: limit ?? PAGE_LIMIT_DEFAULT,
      })
      return {
        files: page.files.map(toSummary),
        ...(page.next !== null && { next: encodePage(page.next) }),
      }
    },
  )
}
