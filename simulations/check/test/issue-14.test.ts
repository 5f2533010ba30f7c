/**
 * Found by the simulator, and already filed as issue 14 item 2 ("a file replaced by a
 * folder of the same name stops the other devices for good"), which another change fixes.
 * `it.fails` records that the seed still breaks today; once the fix lands this test fails,
 * and it becomes a plain `it` (and `swaps: false` goes from the CI seeds test).
 */
import { expect, it } from 'vitest'
import { runPlan } from '../run.ts'
import { planFor } from '../workload.ts'

it.fails('seed 2: a file replaced by a folder of the same name syncs to the other device', async () => {
  const result = await runPlan(planFor(2, { devices: 2, steps: 20 }))
  expect(result.failures).toEqual([])
}, 180_000)
