import { describe, expect, it } from 'vitest'
import { busConfigFromEnv, createBus } from '../index.ts'

describe('createBus', () => {
  it('is in-process without a Redis URL', async () => {
    const bus = createBus(busConfigFromEnv({}))
    expect(bus.kind).toBe('memory')
    await bus.close()
  })

  it('is Redis when REDIS_URL is set', async () => {
    const config = busConfigFromEnv({ REDIS_URL: 'redis://127.0.0.1:9' })
    expect(config).toEqual({ redisUrl: 'redis://127.0.0.1:9' })
    // Nothing listens on port 9; the bus is made without connecting first, and closes.
    const bus = createBus(config)
    expect(bus.kind).toBe('redis')
    await bus.close()
  })
})
