/**
 * `GET /sync/snapshot?at=N&since=C&after=F&limit=L`: the account's files as they were at
 * cursor N (its head when N is left out) that changed after C, paged by file id. A new or
 * far-behind device starts from it instead of replaying the log (docs/DESIGN.md "Change
 * log and cursors").
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { CloudsyncError } from '../../../protocol/errors.ts'
import {
  SNAPSHOT_LIMIT_DEFAULT,
  SnapshotQuery,
  SnapshotResponse,
} from '../../../protocol/schemas/sync.ts'
import { getAccount } from '../../store/accounts.ts'
import { snapshotAt } from '../../store/snapshot.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

export const snapshotRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/sync/snapshot',
    {
      schema: {
        tags: ['sync'],
        security: deviceSecurity,
        summary: "The account's live files at a cursor (its head by default), paged by file id",
        querystring: SnapshotQuery,
        response: { 200: SnapshotResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { accountId } = request.device
      const { after } = request.query
      // A device that names its cursor, even 0, may hold files: it is told of deletions.
      const tombstones = request.query.since !== undefined
      const since = request.query.since ?? 0
      const limit = request.query.limit ?? SNAPSHOT_LIMIT_DEFAULT
      // A later page without its snapshot's cursor would mix two trees.
      if (after !== undefined && request.query.at === undefined)
        throw new CloudsyncError('INVALID_INPUT', '`after` needs the `at` of its first page')
      const head = (await getAccount(app.db, accountId))?.lastSeq
      if (head === undefined)
        throw new CloudsyncError('UNAUTHENTICATED', 'The account no longer exists')
      const at = request.query.at ?? head
      if (at > head)
        throw new CloudsyncError(
          'INVALID_INPUT',
          `cursor ${at} is beyond the account's head ${head}`,
          {
            at,
            head,
          },
        )
      if (since > at)
        throw new CloudsyncError(
          'INVALID_INPUT',
          `since ${since} is beyond the snapshot's cursor ${at}`,
          {
            since,
            at,
          },
        )
      const page = await snapshotAt(app.db, accountId, { since, at, tombstones }, after, limit)
      return {
        at,
        files: page.files.map((f) => ({
          fileId: f.fileId,
          path: f.path,
          version: f.version,
          size: f.size,
          hash: f.hash,
          ...(f.manifest ? { chunks: f.manifest.chunks } : { deleted: true as const }),
          deviceId: f.deviceId,
          committedAt: f.committedAt.toISOString(),
        })),
        ...(page.next !== undefined && { next: page.next }),
      }
    },
  )
}
