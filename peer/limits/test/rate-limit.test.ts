import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RateLimit } from '../rate-limit.ts'

// Virtual time: the limiter's clock (performance.now) and its sleeps (setTimeout) are
// faked, so these tests count tokens against the time that passed, never wall-clock speed.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

const RATE = 100_000

/** Runs `take(bytes)` and reports the tokens taken and whether it finished. */
function transfer(limit: RateLimit, bytes: number) {
  const state = { done: false, error: undefined as unknown }
  limit.take(bytes).then(
    () => {
      state.done = true
    },
    (err) => {
      state.error = err
    },
  )
  return state
}

describe('RateLimit', () => {
  it('never lets more bytes through than the rate allows for the time passed, plus one second of burst', async () => {
    const limit = new RateLimit(RATE)
    const run = transfer(limit, 1_000_000)
    for (let ms = 0; ms <= 12_000; ms += 250) {
      if (ms > 0) await vi.advanceTimersByTimeAsync(250)
      else await vi.advanceTimersByTimeAsync(0)
      expect(limit.taken).toBeLessThanOrEqual(RATE + (RATE * ms) / 1000)
      // And it keeps moving: at most a slice (an eighth of a second) behind the rate.
      if (!run.done)
        expect(limit.taken).toBeGreaterThanOrEqual(RATE + (RATE * ms) / 1000 - RATE / 4)
    }
    expect(run.error).toBeUndefined()
    expect(run.done).toBe(true)
    expect(limit.taken).toBe(1_000_000)
  })

  it('rate 0 is unlimited: everything at once', async () => {
    const limit = new RateLimit(0)
    const run = transfer(limit, 50_000_000)
    await vi.advanceTimersByTimeAsync(0)
    expect(run.done).toBe(true)
  })

  it('a rate raised to unlimited while bytes wait lets them through at once', async () => {
    const limit = new RateLimit(1_000)
    const run = transfer(limit, 1_000_000)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(run.done).toBe(false)
    expect(limit.taken).toBeLessThanOrEqual(2_000)
    limit.setRate(0)
    await vi.advanceTimersByTimeAsync(200)
    expect(run.done).toBe(true)
  })

  it('a rate lowered below a waiting slice slows the transfer down and does not fail it', async () => {
    const limit = new RateLimit(1_000_000)
    const run = transfer(limit, 10_000_000)
    await vi.advanceTimersByTimeAsync(0)
    const before = limit.taken
    limit.setRate(1_000)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(run.error).toBeUndefined()
    // At most the slice already granted, the bucket's one second, and ten seconds at 1 kB/s.
    expect(limit.taken - before).toBeLessThanOrEqual(1_000_000 / 8 + 1_000 + 10 * 1_000)
    expect(run.done).toBe(false)
  })

  it('refuses a rate that is not a whole number of bytes per second', () => {
    expect(() => new RateLimit(-1)).toThrow(/whole number/)
    expect(() => new RateLimit(1.5)).toThrow(/whole number/)
  })
})
