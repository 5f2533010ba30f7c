/**
 * `GET /sync/changes?cursor=N&limit=L&wait=S`: the account's changes after N, oldest
 * first. With `wait` and nothing new, the answer is held until a change of the account is
 * published (on any instance, through the bus) or S seconds pass: the WebSocket's fallback.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  CHANGES_LIMIT_DEFAULT,
  ChangesQuery,
  ChangesResponse,
} from '../../../protocol/schemas/sync.ts'
import { isChangeMessage } from '../../services/account-feed.ts'
import { toChange } from '../../services/changes.ts'
import { getAccount } from '../../store/accounts.ts'
import { changesAfter } from '../../store/changes.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

export const changesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/sync/changes',
    {
      schema: {
        tags: ['sync'],
        security: deviceSecurity,
        summary: 'Changes after a cursor; long-polls up to `wait` seconds when none are new',
        querystring: ChangesQuery,
        response: { 200: ChangesResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { accountId } = request.device
      const { cursor } = request.query
      const limit = request.query.limit ?? CHANGES_LIMIT_DEFAULT
      const wait = request.query.wait ?? 0
      const read = async () => {
        const page = await changesAfter(app.db, accountId, cursor, limit)
        // Read after the page: the head only grows, so it is never below the page's cursor.
        const head = (await getAccount(app.db, accountId))?.lastSeq ?? page.cursor
        const changes = page.changes.map(toChange)
        return { changes, cursor: page.cursor, hasMore: page.hasMore, head }
      }
      const first = await read()
      if (first.changes.length > 0 || wait === 0) return first

      // The client hanging up ends the wait; so does the app closing (feed.wakeAll).
      const gone = new AbortController()
      reply.raw.once('close', () => gone.abort())
      const woke = app.feed.waitFor(
        accountId,
        (m) => isChangeMessage(m) && m.change.seq > cursor,
        wait * 1000,
        gone.signal,
      )
      // Subscribed before this second read: a change committed in between is either in
      // it or wakes the wait, never lost.
      const second = await read()
      if (second.changes.length > 0) {
        gone.abort()
        await woke
        return second
      }
      return (await woke) ? read() : second
    },
  )
}
