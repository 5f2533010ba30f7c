/**
 * Handlers per channel, shared by both buses: tells the caller when a channel gains its
 * first handler or loses its last (the moments Redis needs SUBSCRIBE / UNSUBSCRIBE), and
 * delivers a message to each handler in isolation.
 */
import type { BusErrorReporter, BusHandler } from './bus.ts'

export class Subscribers {
  readonly #channels = new Map<string, Set<BusHandler>>()
  readonly #report: BusErrorReporter

  constructor(report: BusErrorReporter) {
    this.#report = report
  }

  /** Adds a handler; true when it is the channel's first. A wrapper keeps each add distinct,
   * so the same function subscribed twice is delivered twice and removed one at a time. */
  add(channel: string, handler: BusHandler): { first: boolean; entry: BusHandler } {
    const entry: BusHandler = (message, ch) => handler(message, ch)
    let set = this.#channels.get(channel)
    const first = !set
    if (!set) {
      set = new Set()
      this.#channels.set(channel, set)
    }
    set.add(entry)
    return { first, entry }
  }

  /** Removes a handler; true when the channel has none left. False if it was not there. */
  remove(channel: string, entry: BusHandler): boolean {
    const set = this.#channels.get(channel)
    if (!set?.delete(entry)) return false
    if (set.size > 0) return false
    this.#channels.delete(channel)
    return true
  }

  deliver(channel: string, message: string): void {
    const set = this.#channels.get(channel)
    if (!set) return
    for (const handler of [...set]) {
      try {
        handler(message, channel)
      } catch (err) {
        this.#report(err, channel)
      }
    }
  }

  /** Channels with at least one handler. */
  channels(): string[] {
    return [...this.#channels.keys()]
  }

  clear(): void {
    this.#channels.clear()
  }
}
