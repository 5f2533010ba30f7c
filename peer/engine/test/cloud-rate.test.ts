import { describe, expect, it } from 'vitest'
import { CLOUD_RATE_WINDOW_MS, CloudRates, etaSeconds, SlidingRate } from '../cloud-rate.ts'

/** A clock that moves only when told. */
function fakeClock(start = 1_000_000) {
  let t = start
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms
    },
  }
}

const MiB = 1024 * 1024

describe('cloud copy rate', () => {
  it('is unknown until bytes are acknowledged', () => {
    const clock = fakeClock()
    const rate = new SlidingRate(clock.now)
    expect(rate.bytesPerSecond()).toBeUndefined()
    clock.advance(5_000)
    expect(rate.bytesPerSecond()).toBeUndefined()
  })

  it('measures a young upload since it began', () => {
    const clock = fakeClock()
    const rate = new SlidingRate(clock.now)
    clock.advance(2_000)
    rate.add(4 * MiB)
    expect(rate.bytesPerSecond()).toBe(2 * MiB)
  })

  it('follows the last window only: a slowdown shows within one window', () => {
    const clock = fakeClock()
    const rate = new SlidingRate(clock.now, 10_000)
    // 10 MiB/s for 30 s, then 1 MiB/s.
    for (let s = 0; s < 30; s++) {
      clock.advance(1_000)
      rate.add(10 * MiB)
    }
    expect(rate.bytesPerSecond()).toBe(10 * MiB)
    for (let s = 0; s < 10; s++) {
      clock.advance(1_000)
      rate.add(MiB)
    }
    expect(rate.bytesPerSecond()).toBe(MiB)
  })

  it('forgets the rate when nothing is acknowledged for a whole window (a stall)', () => {
    const clock = fakeClock()
    const rate = new SlidingRate(clock.now)
    clock.advance(1_000)
    rate.add(MiB)
    expect(rate.bytesPerSecond()).toBe(MiB)
    clock.advance(CLOUD_RATE_WINDOW_MS)
    expect(rate.bytesPerSecond()).toBeUndefined()
  })

  it('keeps sessions apart and starts afresh when one resumes', () => {
    const clock = fakeClock()
    const rates = new CloudRates(clock.now)
    rates.start('s1')
    rates.start('s2')
    clock.advance(1_000)
    rates.acked('s1', 3 * MiB)
    rates.acked('s2', MiB)
    expect(rates.bytesPerSecond('s1')).toBe(3 * MiB)
    expect(rates.bytesPerSecond('s2')).toBe(MiB)
    rates.start('s1')
    expect(rates.bytesPerSecond('s1')).toBeUndefined()
    rates.end('s2')
    expect(rates.bytesPerSecond('s2')).toBeUndefined()
    // Acks of a session not being sent are not counted anywhere.
    rates.acked('s3', MiB)
    expect(rates.bytesPerSecond('s3')).toBeUndefined()
  })
})

describe('cloud copy ETA', () => {
  it('divides the bytes left by the rate, rounding up', () => {
    expect(etaSeconds(100 * MiB, 2 * MiB)).toBe(50)
    expect(etaSeconds(MiB + 1, MiB)).toBe(2)
  })

  it('is unknown without a rate, and zero when nothing is left', () => {
    expect(etaSeconds(MiB, undefined)).toBeUndefined()
    expect(etaSeconds(MiB, 0)).toBeUndefined()
    expect(etaSeconds(0, undefined)).toBe(0)
  })
})
