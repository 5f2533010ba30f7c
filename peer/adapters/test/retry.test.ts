import { expect, it } from 'vitest'
import { CloudsyncError } from '../../../protocol/errors.ts'
import type { Clock } from '../../ports/clock.ts'
import { backoffDelay, withRetry } from '../../retry.ts'

/** A clock whose sleeps return at once and are recorded. */
function fakeClock(): Clock & { slept: number[] } {
  const slept: number[] = []
  let now = 0
  return {
    slept,
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted()
      slept.push(ms)
      now += ms
    },
  }
}

/** Fails with the given errors in turn, then answers 'ok'. */
function flaky(...errors: Error[]) {
  let calls = 0
  const fn = async () => {
    const err = errors[calls++]
    if (err) throw err
    return 'ok'
  }
  return { fn, calls: () => calls }
}

const unavailable = () => new CloudsyncError('UNAVAILABLE', 'down')

it('retries UNAVAILABLE and BUSY with growing, jittered, capped delays', async () => {
  const clock = fakeClock()
  const call = flaky(unavailable(), new CloudsyncError('BUSY'), unavailable(), unavailable())
  const result = await withRetry(call.fn, { attempts: 5, baseMs: 100, maxMs: 300, clock })
  expect(result).toBe('ok')
  expect(call.calls()).toBe(5)
  expect(clock.slept).toHaveLength(4)
  // Each wait is between half and all of min(maxMs, baseMs * 2^(n-1)).
  const ceilings = [100, 200, 300, 300]
  clock.slept.forEach((ms, i) => {
    expect(ms).toBeGreaterThanOrEqual(ceilings[i]! / 2)
    expect(ms).toBeLessThanOrEqual(ceilings[i]!)
  })
})

it('throws STALE_BASE (an answer, not an outage) at once', async () => {
  const clock = fakeClock()
  const call = flaky(new CloudsyncError('STALE_BASE', 'file is at version 3'))
  await expect(withRetry(call.fn, { attempts: 5, baseMs: 10, maxMs: 100, clock })).rejects.toThrow(
    'file is at version 3',
  )
  expect(call.calls()).toBe(1)
  expect(clock.slept).toEqual([])
})

it('gives up after the last attempt with the last error', async () => {
  const clock = fakeClock()
  const call = flaky(unavailable(), unavailable(), new CloudsyncError('UNAVAILABLE', 'still down'))
  await expect(withRetry(call.fn, { attempts: 3, baseMs: 10, maxMs: 100, clock })).rejects.toThrow(
    'still down',
  )
  expect(call.calls()).toBe(3)
  expect(clock.slept).toHaveLength(2)
})

it('stops waiting when the signal aborts (real clock, tiny delays)', async () => {
  const controller = new AbortController()
  let calls = 0
  const pending = withRetry(
    async () => {
      calls++
      if (calls === 2) controller.abort(new Error('stopped'))
      throw unavailable()
    },
    { attempts: 10, baseMs: 5, maxMs: 20, signal: controller.signal },
  )
  await expect(pending).rejects.toThrow('stopped')
  expect(calls).toBe(2)
})

it('computes repeatable delays from an injected random source', () => {
  const options = { baseMs: 100, maxMs: 1000, random: () => 0.5 }
  expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, options))).toEqual([75, 150, 300, 600, 750])
})
