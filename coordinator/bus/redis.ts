/**
 * Redis pub/sub bus: how several coordinator instances fan changes out to each other. One
 * connection publishes, one subscribes (a subscribed Redis connection can do nothing else).
 * ioredis reconnects on its own; this bus re-issues SUBSCRIBE for every channel itself
 * (rather than ioredis' autoResubscribe, which reports `ready` before SUBSCRIBE is sent)
 * and flips `live` only once Redis has confirmed it. Messages published while the link was
 * down are lost, which the bus contract allows: `live` tells listeners to re-read the log.
 */
import { Redis, type RedisOptions } from 'ioredis'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { Bus, BusErrorReporter, BusHandler, LiveListener, Unsubscribe } from './bus.ts'
import { reportToStderr } from './bus.ts'
import { Subscribers } from './subscribers.ts'

export interface RedisBusConfig {
  /** e.g. redis://127.0.0.1:6379 */
  url: string
  /** Shown by `CLIENT LIST` as NAME-pub / NAME-sub; default `cloudsync-bus`. */
  name?: string
  onHandlerError?: BusErrorReporter
  /** Connection errors while ioredis retries; they also surface through check(). */
  onConnectionError?: (err: Error, connection: 'publisher' | 'subscriber') => void
  /** How long check() waits for Redis to answer; default 2000 ms. */
  checkTimeoutMs?: number
  /** How long subscribe() waits for a link that is down; default 2000 ms. */
  downWaitMs?: number
}

export class RedisBus implements Bus {
  readonly kind = 'redis'
  readonly #publisher: Redis
  readonly #subscriber: Redis
  readonly #subscribers: Subscribers
  /** Per channel with handlers: the SUBSCRIBE in flight or done, so later subscribers of
   * the same channel also wait until it is live. */
  readonly #subscribing = new Map<string, Promise<unknown>>()
  readonly #checkTimeoutMs: number
  readonly #downWaitMs: number
  readonly #liveListeners = new Set<LiveListener>()
  #lastError: Error | undefined
  #closed = false
  #live = false

  constructor(config: RedisBusConfig) {
    const name = config.name ?? 'cloudsync-bus'
    const options: RedisOptions = {
      autoResubscribe: false,
      // Fail a publish after a couple of reconnect attempts rather than queue it for long:
      // a late change notification is worth little, and the caller should know.
      maxRetriesPerRequest: 2,
    }
    this.#publisher = new Redis(config.url, { ...options, connectionName: `${name}-pub` })
    this.#subscriber = new Redis(config.url, { ...options, connectionName: `${name}-sub` })
    this.#subscribers = new Subscribers(config.onHandlerError ?? reportToStderr)
    this.#checkTimeoutMs = config.checkTimeoutMs ?? 2000
    this.#downWaitMs = config.downWaitMs ?? 2000
    this.#subscriber.on('message', (channel: string, message: string) => {
      this.#subscribers.deliver(channel, message)
    })
    this.#subscriber.on('ready', () => void this.#resubscribe())
    this.#subscriber.on('close', () => this.#setLive(false))
    // Without listeners ioredis prints every retry's error; keep the last for check().
    for (const [connection, redis] of [
      ['publisher', this.#publisher],
      ['subscriber', this.#subscriber],
    ] as const) {
      redis.on('error', (err: Error) => {
        this.#lastError = err
        config.onConnectionError?.(err, connection)
      })
    }
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen()
    await this.#publisher.publish(channel, message)
  }

  /** While the link is down the handler is recorded and SUBSCRIBE goes out with every
   * other channel's once Redis is back (`live` says when, see the file comment); this
   * waits for that a short while only (a starting bus is usually just connecting). */
  async subscribe(channel: string, handler: BusHandler): Promise<Unsubscribe> {
    this.#assertOpen()
    const { first, entry } = this.#subscribers.add(channel, handler)
    if (first && this.#live) {
      const subscribing = this.#subscriber.subscribe(channel)
      this.#subscribing.set(channel, subscribing)
      subscribing.catch(() => {
        if (this.#subscribing.get(channel) === subscribing) this.#subscribing.delete(channel)
      })
    }
    try {
      if (this.#live) await this.#subscribing.get(channel)
      else await this.#untilLive(this.#downWaitMs)
    } catch (err) {
      this.#subscribers.remove(channel, entry)
      throw err
    }
    return async () => {
      if (!this.#subscribers.remove(channel, entry) || this.#closed) return
      this.#subscribing.delete(channel)
      // A link that is down forgets the channel anyway (it is not resubscribed).
      if (this.#live) await this.#subscriber.unsubscribe(channel).catch(() => {})
    }
  }

  /** Ready when both connections are up and Redis answers PING within the timeout; a bus
   * just constructed is given that long to connect. */
  async check(): Promise<void> {
    this.#assertOpen()
    const cleanups: (() => void)[] = []
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(() => {
        const states = `publisher ${this.#publisher.status}, subscriber ${this.#subscriber.status}`
        const why = this.#lastError?.message ?? 'no answer'
        reject(new CloudsyncError('BUSY', `Redis not ready (${states}): ${why}`))
      }, this.#checkTimeoutMs)
      cleanups.push(() => clearTimeout(timer))
    })
    const up = (redis: Redis) =>
      redis.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            redis.once('ready', resolve)
            cleanups.push(() => redis.off('ready', resolve))
          })
    try {
      await Promise.race([
        Promise.all([up(this.#publisher), up(this.#subscriber)]).then(() => this.#publisher.ping()),
        timeout,
      ])
    } finally {
      for (const cleanup of cleanups) cleanup()
    }
  }

  get live(): boolean {
    return this.#live
  }

  onLiveChange(listener: LiveListener): () => void {
    this.#liveListeners.add(listener)
    return () => this.#liveListeners.delete(listener)
  }

  /** After every (re)connect: SUBSCRIBE to every channel with handlers (also those added
   * meanwhile), then live. */
  async #resubscribe(): Promise<void> {
    const done = new Set<string>()
    for (;;) {
      const todo = this.#subscribers.channels().filter((c) => !done.has(c))
      if (todo.length === 0) break
      try {
        await this.#subscriber.subscribe(...todo)
      } catch (err) {
        // The link dropped again; its next `ready` retries.
        this.#lastError = err as Error
        return
      }
      for (const c of todo) done.add(c)
    }
    if (this.#subscriber.status === 'ready') this.#setLive(true)
  }

  #untilLive(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        stop()
        resolve()
      }
      const timer = setTimeout(done, ms)
      const stop = this.onLiveChange(done)
    })
  }

  #setLive(live: boolean): void {
    if (this.#live === live || this.#closed) return
    this.#live = live
    for (const listener of this.#liveListeners) listener(live)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#live = false
    this.#liveListeners.clear()
    this.#closed = true
    this.#subscribers.clear()
    this.#subscribing.clear()
    // QUIT waits for pending replies on a live link; on a dead one it would wait for a
    // reconnect that may never come, so cut the link instead.
    await Promise.allSettled(
      [this.#publisher, this.#subscriber].map((redis) =>
        redis.status === 'ready' ? redis.quit() : Promise.resolve(redis.disconnect()),
      ),
    )
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('Bus is closed')
  }
}
