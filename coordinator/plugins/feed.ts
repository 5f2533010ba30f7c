/** The per-instance account feed over the bus (services/account-feed.ts), on `app.feed`. */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AccountFeed } from '../services/account-feed.ts'

declare module 'fastify' {
  interface FastifyInstance {
    feed: AccountFeed
  }
}

async function feed(app: FastifyInstance): Promise<void> {
  const accountFeed = new AccountFeed(app.bus)
  app.decorate('feed', accountFeed)
  // Long polls hold requests open for up to a minute; closing answers them at once.
  app.addHook('preClose', async () => accountFeed.wakeAll())
}

export const feedPlugin = fp(feed, {
  fastify: '5.x',
  name: 'cloudsync-feed',
  dependencies: ['cloudsync-backends'],
})
