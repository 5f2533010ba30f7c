/**
 * The Redis bus through a real outage of a private Redis (started and killed by the test):
 * `live` follows the subscription, channels come back (also those subscribed while down),
 * the outbox publishes what waited in order, and what it had to drop ends as a resync
 * message on its channel, so nobody depends on a message that was lost.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AccountFeed, accountChannel } from '../../services/account-feed.ts'
import {
  type PrivateService,
  privateServicesAvailable,
  startPrivateRedis,
} from '../../test/private-services.ts'
import { Outbox } from '../outbox.ts'
import { RedisBus } from '../redis.ts'
import { inbox } from './bus.contract.ts'

const available = privateServicesAvailable()

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe.skipIf(!available)('Redis bus through an outage of a private Redis', () => {
  let redis: PrivateService
  beforeAll(async () => {
    redis = await startPrivateRedis()
  }, 30_000)
  afterAll(async () => {
    await redis?.destroy()
  })

  it('goes not live when Redis dies, live again once every channel is resubscribed', async () => {
    const bus = new RedisBus({ url: redis.url, downWaitMs: 100 })
    const publisher = new RedisBus({ url: redis.url })
    const states: boolean[] = []
    try {
      const before = inbox()
      const during = inbox()
      await until('connected', () => bus.live)
      bus.onLiveChange((live) => states.push(live))
      await bus.subscribe('before', before.handler)
      await redis.stop()
      await until('not live', () => !bus.live)
      // Answers quickly although nothing can be subscribed now.
      await bus.subscribe('during', during.handler)
      await redis.start()
      await until('live again', () => bus.live)
      await publisher.publish('before', 'b')
      await publisher.publish('during', 'd')
      expect(await before.waitFor(1)).toEqual(['b'])
      expect(await during.waitFor(1)).toEqual(['d'])
      expect(states).toEqual([false, true])
    } finally {
      await bus.close()
      await publisher.close()
    }
  }, 30_000)

  it('outbox: a stalled Redis never holds the sender; what waited is published in order, what was dropped ends as a resync', async () => {
    const publisherBus = new RedisBus({ url: redis.url })
    const listenerBus = new RedisBus({ url: redis.url })
    const errors: unknown[] = []
    const dropped: number[] = []
    const outbox = new Outbox(publisherBus, {
      resyncMessage: 'RESYNC',
      maxQueued: 3,
      timeoutMs: 200,
      onError: (err) => errors.push(err),
      onDropped: (_channels, count) => dropped.push(count),
    })
    const [a, b] = [inbox(), inbox()]
    try {
      await until('connected', () => listenerBus.live && publisherBus.live)
      await listenerBus.subscribe('a', a.handler)
      await listenerBus.subscribe('b', b.handler)
      // PUBLISH stalls for 1.5 s (subscriptions stay): each attempt times out and is retried.
      const { Redis } = await import('ioredis')
      const raw = new Redis(redis.url)
      await raw.client('PAUSE', 1500, 'WRITE')
      raw.disconnect()
      const started = Date.now()
      for (const m of ['b1', 'a1', 'a2', 'a3']) outbox.send(m[0]!, m)
      expect(Date.now() - started).toBeLessThan(50)
      expect(dropped).toEqual([1]) // b1: the queue holds 3
      await outbox.flush()
      expect(errors.length).toBeGreaterThan(0)
      // A timed-out attempt may still land after the pause: duplicates, never reordering.
      await a.waitFor(3)
      expect([...new Set(a.messages)]).toEqual(['a1', 'a2', 'a3'])
      // b1 was dropped from the queue (it may have left already): its channel hears a resync.
      await until('resync on b', () => b.messages.includes('RESYNC'))
      expect(b.messages.at(-1)).toBe('RESYNC')
    } finally {
      outbox.close()
      await Promise.all([publisherBus.close(), listenerBus.close()])
    }
  }, 30_000)

  it('account feed: listeners are asked to re-read the log while the bus is down and once it is back', async () => {
    const bus = new RedisBus({ url: redis.url, downWaitMs: 100 })
    const feed = new AccountFeed(bus, { pollMs: 100 })
    const account = randomUUID()
    let resyncs = 0
    await until('connected', () => bus.live)
    const stop = await feed.watch(
      account,
      () => {},
      () => resyncs++,
    )
    try {
      await redis.stop()
      await until('three polls while down', () => resyncs >= 3)
      await redis.start()
      await until('live', () => bus.live)
      const afterLive = resyncs
      await new Promise((resolve) => setTimeout(resolve, 300))
      // Polling stopped once live (the resync on reconnect was counted before).
      expect(resyncs).toBe(afterLive)
      // A resync published by another instance reaches the listener too.
      const otherBus = new RedisBus({ url: redis.url })
      const other = new AccountFeed(otherBus)
      other.resync(account)
      await until('published resync', () => resyncs === afterLive + 1)
      await other.close()
      await otherBus.close()
      expect(accountChannel(account)).toBe(`account:${account}`)
    } finally {
      await stop()
      await feed.close()
      await bus.close()
    }
  }, 30_000)
})
