import { TokenBucket } from 'limiter'
import type { Pace } from '../ports/pace.ts'

/**
 * One direction's byte rate (a token per byte), changeable while bytes move. The bucket
 * holds one second's worth, so a pause in traffic allows a burst of at most a second.
 * Rate 0 is unlimited.
 */
export class RateLimit {
  readonly #bucket: TokenBucket
  /** Tokens taken since creation: what the tests count. */
  taken = 0

  constructor(bytesPerSecond = 0) {
    this.#bucket = new TokenBucket({ bucketSize: 0, tokensPerInterval: 0, interval: 1000 })
    this.setRate(bytesPerSecond)
  }

  get rate(): number {
    return this.#bucket.bucketSize
  }

  setRate(bytesPerSecond: number): void {
    if (!Number.isSafeInteger(bytesPerSecond) || bytesPerSecond < 0)
      throw new RangeError(`a rate is a whole number of bytes per second, not ${bytesPerSecond}`)
    const bucket = this.#bucket
    // The bucket starts full when a limit is set, and keeps what it had when one changes.
    const wasUnlimited = bucket.bucketSize === 0
    bucket.drip()
    bucket.bucketSize = bytesPerSecond
    bucket.tokensPerInterval = bytesPerSecond
    bucket.content = wasUnlimited ? bytesPerSecond : Math.min(bucket.content, bytesPerSecond)
  }

  /**
   * Resolves once `bytes` tokens are taken, in slices of at most an eighth of a second's
   * worth: a rate changed meanwhile applies to the next slice, and one large transfer never
   * waits on a single long sleep.
   */
  readonly take: Pace = async (bytes, signal) => {
    let left = bytes
    while (left > 0) {
      signal?.throwIfAborted()
      const rate = this.rate
      const slice = rate === 0 ? left : Math.min(left, Math.max(1, Math.floor(rate / 8)))
      try {
        await this.#bucket.removeTokens(slice)
      } catch (err) {
        // The rate dropped below the slice while it waited: take a smaller slice instead.
        if (err instanceof RangeError) continue
        throw err
      }
      this.taken += slice
      left -= slice
    }
  }
}
