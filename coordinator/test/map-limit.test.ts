import { setImmediate } from 'node:timers/promises'
import { expect, it } from 'vitest'
import { MAP_LIMIT_YIELD_EVERY, mapLimit } from '../services/chunk-presence.ts'

/** Counts event loop turns (check phases) until `stop()`. */
function countTurns(): { stop: () => number } {
  let turns = 0
  let running = true
  void (async () => {
    while (running) {
      await setImmediate()
      turns++
    }
  })()
  return {
    stop: () => {
      running = false
      return turns
    },
  }
}

it('gives the event loop turns over many calls that answer without waiting', async () => {
  // A local blob store answers heads and presigns without I/O: 47,684 of them chained as
  // microtasks held every other request until the last.
  const items = Array.from({ length: 20 * MAP_LIMIT_YIELD_EVERY }, (_, i) => i)
  const turns = countTurns()
  const doubled = await mapLimit(items, 32, async (i) => i * 2)
  const counted = turns.stop()
  expect(doubled).toEqual(items.map((i) => i * 2))
  expect(counted).toBeGreaterThanOrEqual(19)
})

it('answers in input order with at most `limit` calls in flight', async () => {
  let inFlight = 0
  let most = 0
  const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
    most = Math.max(most, ++inFlight)
    await setImmediate()
    inFlight--
    return n * 10
  })
  expect(out).toEqual([50, 10, 40, 20, 30])
  expect(most).toBe(2)
})
