/** Chooses the coordinator's bus: Redis when a URL is configured, in-process otherwise. */
import type { Bus, BusErrorReporter } from './bus.ts'
import { MemoryBus } from './memory.ts'
import { RedisBus } from './redis.ts'

export type { Bus, BusErrorReporter, BusHandler, LiveListener, Unsubscribe } from './bus.ts'
export { MemoryBus, type MemoryBusConfig, MemoryBusHub } from './memory.ts'
export { RedisBus, type RedisBusConfig } from './redis.ts'

export interface BusConfig {
  /** Set (from REDIS_URL) to fan out across coordinator instances through Redis. */
  redisUrl?: string | undefined
  onHandlerError?: BusErrorReporter
}

export function createBus(config: BusConfig = {}): Bus {
  const reporter = config.onHandlerError && { onHandlerError: config.onHandlerError }
  if (config.redisUrl) return new RedisBus({ url: config.redisUrl, ...reporter })
  return new MemoryBus({ ...reporter })
}

export function busConfigFromEnv(env: Record<string, string | undefined>): BusConfig {
  return { redisUrl: env.REDIS_URL || undefined }
}
