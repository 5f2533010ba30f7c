/**
 * This instance's view of its accounts: the account feed over the bus
 * (services/account-feed.ts) on `app.feed`, and device presence (services/presence.ts)
 * on `app.presence`.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AccountFeed } from '../services/account-feed.ts'
import { Presence } from '../services/presence.ts'

declare module 'fastify' {
  interface FastifyInstance {
    feed: AccountFeed
    presence: Presence
  }
}

async function feed(app: FastifyInstance): Promise<void> {
  const accountFeed = new AccountFeed(app.bus)
  app.decorate('feed', accountFeed)
  const presence = new Presence(app)
  app.decorate('presence', presence)
  presence.start()
  app.addHook('preClose', async () => {
    // Long polls hold requests open for up to a minute; closing answers them at once.
    accountFeed.wakeAll()
    // Before the sockets close and the store shuts: the devices held here go offline now
    // (their accounts are told), rather than when their rows lapse.
    await presence.close().catch((err) => app.log.warn({ err }, 'presence not cleared'))
  })
}

export const feedPlugin = fp(feed, {
  fastify: '5.x',
  name: 'cloudsync-feed',
  dependencies: ['cloudsync-backends'],
})
