/**
 * The simulator's virtual clock. Time moves only when the simulator advances it, and only
 * once the real asynchronous work in progress has settled (the engine's promise chains,
 * the coordinator handling a request on PGlite), so a run is the same sequence of events
 * every time, however fast or loaded the machine.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Clock } from '../../peer/index.ts'

interface Timer {
  at: number
  seq: number
  fire: () => void
  cancelled: boolean
}

/** The virtual epoch: 2026-01-01T00:00:00Z, so coordinator timestamps read sensibly. */
export const EPOCH_MS = Date.UTC(2026, 0, 1)

export class VirtualClock {
  #now = EPOCH_MS
  #seq = 0
  /** Sorted by (at, seq): equal times fire in the order they were set. */
  readonly #timers: Timer[] = []
  #inflight = 0
  /** Timers fired so far: the run's amount of work, for reports. */
  fired = 0

  now(): number {
    return this.#now
  }

  /** Calls `fire` at now + ms unless cancelled first. */
  at(ms: number, fire: () => void): () => void {
    const timer: Timer = {
      at: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      fire,
      cancelled: false,
    }
    let lo = 0
    let hi = this.#timers.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const t = this.#timers[mid]!
      if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1
      else hi = mid
    }
    this.#timers.splice(lo, 0, timer)
    return () => {
      timer.cancelled = true
    }
  }

  /**
   * A Clock whose sleeps fire only while `alive()` holds: a crashed device's pending
   * sleeps never wake, so its abandoned work stops where it was.
   */
  clockFor(alive: () => boolean = () => true): Clock {
    return {
      now: () => this.#now,
      sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason)
          const onAbort = () => {
            cancel()
            reject(signal!.reason)
          }
          const cancel = this.at(ms, () => {
            signal?.removeEventListener('abort', onAbort)
            if (alive()) resolve()
          })
          signal?.addEventListener('abort', onAbort, { once: true })
        }),
    }
  }

  /** Real asynchronous work: time stands still until it settles. */
  async track<T>(work: Promise<T>): Promise<T> {
    this.#inflight++
    try {
      return await work
    } finally {
      this.#inflight--
    }
  }

  /** Lets every promise chain and tracked piece of work in progress run to its next wait. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 2; ) {
      await nextTurn()
      quiet = this.#inflight === 0 ? quiet + 1 : 0
    }
  }

  /** Fires every timer due up to `until`, settling after each; ends with now = until. */
  async advanceTo(until: number): Promise<void> {
    await this.settle()
    for (;;) {
      const next = this.#timers[0]
      if (!next || next.at > until) break
      this.#timers.shift()
      if (next.cancelled) continue
      this.#now = Math.max(this.#now, next.at)
      next.fire()
      this.fired++
      await this.settle()
    }
    this.#now = Math.max(this.#now, until)
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms)
  }
}
