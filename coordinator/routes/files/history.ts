/** `GET /files/history`: what happened at a path, so a person can get a version back. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HistoryQuery, HistoryResponse } from '../../../protocol/schemas/history.ts'
import { checkPath } from '../../services/uploads.ts'
import { pathHistory } from '../../store/history.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

const HISTORY_LIMIT_DEFAULT = 100

export const historyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/files/history',
    {
      schema: {
        tags: ['files'],
        security: deviceSecurity,
        summary: 'Changes that wrote, moved or deleted a path, newest first',
        querystring: HistoryQuery,
        response: { 200: HistoryResponse, ...errorResponses },
      },
    },
    async (request) => {
      const path = checkPath(app, request.query.path)
      const events = await pathHistory(
        app.db,
        request.device.accountId,
        path,
        request.query.limit ?? HISTORY_LIMIT_DEFAULT,
      )
      return {
        path,
        events: events.map((e) => ({
          seq: e.seq,
          kind: e.kind,
          fileId: e.fileId,
          version: e.version,
          path: e.path,
          ...(e.fromPath !== null && { fromPath: e.fromPath }),
          deviceId: e.deviceId,
          committedAt: e.committedAt.toISOString(),
          size: e.size,
          hash: e.hash,
          ...(e.prunedAt !== null
            ? { pruned: true }
            : e.retiredAt !== null && {
                restorableUntil: new Date(
                  e.retiredAt.getTime() + app.config.versionRetentionMs,
                ).toISOString(),
              }),
        })),
      }
    },
  )
}
