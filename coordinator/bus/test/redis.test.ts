/**
 * The Redis bus against the Redis at REDIS_URL (default redis://127.0.0.1:6379). When none
 * answers, the suite is skipped and says so, rather than failing on a machine without one.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { RedisBus } from '../redis.ts'
import { inbox, runBusContract } from './bus.contract.ts'

const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379'

async function reachable(): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

const available = await reachable()
// CI starts Redis itself: there, a missing server is a failure, never a skip.
if (!available && process.env.CI) throw new Error(`Redis not reachable at ${url} in CI`)
if (!available) {
  process.emitWarning(`Redis not reachable at ${url}: the Redis bus tests are SKIPPED`)
}

const suiteName = available
  ? `redis bus at ${url}`
  : `redis bus (SKIPPED: no Redis answered at ${url})`

describe.skipIf(!available)(suiteName, () => {
  runBusContract('redis', async () => ({
    createBus: async (options) => new RedisBus({ url, ...options }),
    teardown: async () => {},
  }))

  it('resubscribes after its subscriber connection is killed', async () => {
    const name = `cloudsync-test-${randomUUID()}`
    const bus = new RedisBus({ url, name })
    const admin = new Redis(url)
    try {
      const ch = `cloudsync-test:${randomUUID()}`
      const box = inbox()
      await bus.subscribe(ch, box.handler)
      // Kill only our own subscriber connection, found by its name: other suites share
      // this Redis.
      const clients = (await admin.client('LIST')) as string
      const line = clients.split('\n').find((l) => l.includes(` name=${name}-sub `))
      const id = line?.match(/^id=(\d+)/)?.[1]
      expect(id).toBeDefined()
      expect(await admin.client('KILL', 'ID', id!)).toBe(1)
      // Messages published while the link is down are lost by design; publish until the
      // resubscribed connection hears one.
      for (let i = 0; box.messages.length === 0 && i < 40; i++) {
        await admin.publish(ch, `after-kill-${i}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(box.messages[0]).toMatch(/^after-kill-/)
    } finally {
      await bus.close()
      admin.disconnect()
    }
  })

  it('reports not ready, and closes cleanly, when Redis is unreachable', async () => {
    // Port 9 on loopback (discard) has no listener here: every connect is refused.
    const bus = new RedisBus({ url: 'redis://127.0.0.1:9', checkTimeoutMs: 300 })
    await expect(bus.check()).rejects.toMatchObject({ code: 'BUSY' })
    await bus.close()
  })
})
