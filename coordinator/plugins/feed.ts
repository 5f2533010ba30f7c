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
  const accountFeed = new AccountFeed(app.bus, {
    onError: (err, queued) => app.log.warn({ err, queued }, 'bus publish failed; retrying'),
    onDropped: (channels, count) =>
      app.log.error(
        { channels: channels.length, count },
        'bus messages dropped; their accounts are told to re-read the log once the bus is back',
      ),
  })
  app.decorate('feed', accountFeed)
  const presence = new Presence(app)
  app.decorate('presence', presence)
  presence.start()
  // Listed among the instances as soon as its address is known.
  app.addHook('onListen', async () => {
    void presence.renew()
  })
  app.addHook('preClose', async () => {
    // Long polls hold requests open for up to a minute; closing answers them at once.
    accountFeed.wakeAll()
    // Before the sockets close and the store shuts: the devices held here go offline now
    // (their accounts are told), rather than when their rows lapse.
    await presence.close().catch((err) => app.log.warn({ err }, 'presence not cleared'))
    await accountFeed.close()
  })
}

export const feedPlugin = fp(feed, {
  fastify: '5.x',
  name: 'cloudsync-feed',
  dependencies: ['cloudsync-backends'],
})
