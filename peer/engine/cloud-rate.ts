/**
 * How fast each upload's cloud copy is moving, for the ETA `status` shows (docs/LAN-FIRST.md
 * "Status"): bytes acknowledged by the cloud over a sliding window of the engine's clock, so
 * a stall shows as no rate at all rather than as the average since the start.
 */

/** Long enough to smooth out parallel PUTs finishing in bursts, short enough to follow a slowdown. */
export const CLOUD_RATE_WINDOW_MS = 20_000

interface Sample {
  at: number
  bytes: number
}

/** One upload's acknowledged bytes in the last window. */
export class SlidingRate {
  readonly #now: () => number
  readonly #windowMs: number
  readonly #samples: Sample[] = []
  readonly #since: number

  /** Starts measuring at `now()`: the time the sending began counts, not only between acks. */
  constructor(now: () => number, windowMs = CLOUD_RATE_WINDOW_MS) {
    this.#now = now
    this.#windowMs = windowMs
    this.#since = now()
  }

  add(bytes: number): void {
    this.#samples.push({ at: this.#now(), bytes })
    this.#prune(this.#now())
  }

  /** Bytes per second over the window; undefined until some time has passed and bytes arrived in it. */
  bytesPerSecond(): number | undefined {
    const now = this.#now()
    this.#prune(now)
    // Young uploads are measured since they began, not over a window they have not lived yet.
    const span = Math.min(this.#windowMs, now - this.#since)
    if (span <= 0) return undefined
    let bytes = 0
    for (const s of this.#samples) bytes += s.bytes
    return bytes > 0 ? (bytes * 1000) / span : undefined
  }

  #prune(now: number): void {
    while (this.#samples.length > 0 && this.#samples[0]!.at <= now - this.#windowMs)
      this.#samples.shift()
  }
}

/** The rates of the uploads being sent, by upload session. */
export class CloudRates {
  readonly #now: () => number
  readonly #rates = new Map<string, SlidingRate>()

  constructor(now: () => number) {
    this.#now = now
  }

  /** The sending of a session (re)starts: a resumed upload measures afresh. */
  start(sessionId: string): void {
    this.#rates.set(sessionId, new SlidingRate(this.#now))
  }

  acked(sessionId: string, bytes: number): void {
    this.#rates.get(sessionId)?.add(bytes)
  }

  end(sessionId: string): void {
    this.#rates.delete(sessionId)
  }

  bytesPerSecond(sessionId: string): number | undefined {
    return this.#rates.get(sessionId)?.bytesPerSecond()
  }
}

/** Seconds left for `remaining` bytes at `bytesPerSecond`; undefined without a rate. */
export function etaSeconds(
  remaining: number,
  bytesPerSecond: number | undefined,
): number | undefined {
  if (remaining <= 0) return 0
  if (bytesPerSecond === undefined || !(bytesPerSecond > 0)) return undefined
  return Math.ceil(remaining / bytesPerSecond)
}
