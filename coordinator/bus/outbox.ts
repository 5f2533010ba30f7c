/**
 * Publishing off the request path: a commit queues its messages here and answers at once;
 * one worker publishes them in order, in batches, each batch bounded by a timeout, and
 * retries while the bus is down. The queue is bounded in length and in age; what it has
 * to drop is remembered per channel, and once publishing works again each such channel
 * gets `resyncMessage`, which tells its subscribers to re-read the log. So a lost message
 * costs latency, never a change.
 */
import type { Bus } from './bus.ts'

export interface OutboxConfig {
  /** Published on a channel after messages of it were dropped. */
  resyncMessage: string
  /** Most messages waiting; past it the oldest are dropped. Default 10,000. */
  maxQueued?: number
  /** A message still unpublished after this long is dropped. Default 30 s. */
  maxAgeMs?: number
  /** One batch of publishes may take this long before it counts as failed. Default 2 s. */
  timeoutMs?: number
  /** Messages published together (Redis pipelines them on one connection). Default 100. */
  batch?: number
  onError?: (err: unknown, queued: number) => void
  onDropped?: (channels: string[], count: number) => void
}

interface Queued {
  channel: string
  message: string
  at: number
}

const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 2000

export class Outbox {
  readonly #bus: Bus
  readonly #config: Required<Omit<OutboxConfig, 'onError' | 'onDropped'>> & OutboxConfig
  #queue: Queued[] = []
  /** Channels whose messages were dropped since publishing last worked. */
  readonly #lost = new Map<string, number>()
  #drops = 0
  #running: Promise<void> | undefined
  #closed = false
  #wake: (() => void) | undefined

  constructor(bus: Bus, config: OutboxConfig) {
    this.#bus = bus
    this.#config = { maxQueued: 10_000, maxAgeMs: 30_000, timeoutMs: 2000, batch: 100, ...config }
  }

  get queued(): number {
    return this.#queue.length
  }

  /** Queues a message; never waits and never throws. */
  send(channel: string, message: string): void {
    if (this.#closed) return
    this.#queue.push({ channel, message, at: Date.now() })
    const excess = this.#queue.length - this.#config.maxQueued
    if (excess > 0) this.#drop(this.#queue.splice(0, excess))
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined
    })
  }

  /** Resolves once everything queued so far is published or dropped. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running
  }

  /** Stops retrying; what is still queued is dropped. */
  close(): void {
    this.#closed = true
    this.#queue = []
    this.#wake?.()
  }

  async #run(): Promise<void> {
    let backoff = RETRY_MIN_MS
    while (!this.#closed && (this.#queue.length > 0 || this.#lost.size > 0)) {
      const now = Date.now()
      const stale = this.#queue.findIndex((q) => now - q.at <= this.#config.maxAgeMs)
      this.#drop(this.#queue.splice(0, stale === -1 ? this.#queue.length : stale))
      // Channels that lost messages hear so first, then the rest in order.
      const resyncs = [...this.#lost].map(([channel, drop]) => ({
        channel,
        message: this.#config.resyncMessage,
        at: drop,
      }))
      const batch = [...resyncs, ...this.#queue.slice(0, this.#config.batch)]
      if (batch.length === 0) break
      try {
        await this.#publish(batch)
      } catch (err) {
        this.#config.onError?.(err, this.#queue.length)
        await this.#sleep(backoff)
        backoff = Math.min(backoff * 2, RETRY_MAX_MS)
        continue
      }
      backoff = RETRY_MIN_MS
      // A channel that lost more while this batch was out keeps its mark.
      for (const r of resyncs) if (this.#lost.get(r.channel) === r.at) this.#lost.delete(r.channel)
      this.#queue.splice(0, batch.length - resyncs.length)
    }
  }

  async #publish(batch: Queued[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bus publish took over ${this.#config.timeoutMs} ms`)),
        this.#config.timeoutMs,
      )
    })
    try {
      await Promise.race([
        Promise.all(batch.map((q) => this.#bus.publish(q.channel, q.message))),
        timeout,
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  #drop(dropped: Queued[]): void {
    if (dropped.length === 0) return
    const channels = [...new Set(dropped.map((d) => d.channel))]
    this.#drops++
    for (const c of channels) this.#lost.set(c, this.#drops)
    this.#config.onDropped?.(channels, dropped.length)
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}
