/**
 * The simulator in CI: a bounded number of seeds. The range is printed; a failure names its
 * seed and the command that replays it. With SIM_SEEDS_FROM=fresh the range moves with the
 * clock, so each run explores histories no run has tried; CI uses a fixed range while the
 * seeds in open-bugs.test.ts are open, since a fresh range can hit one of those at random
 * and fail a change that did not cause it.
 */
import { expect, it } from 'vitest'
import { runPlan } from '../run.ts'
import { type PlanOptions, planFor } from '../workload.ts'

/** Seeds per run, at most; fewer when the time below runs out first. */
const SEEDS = 40
const BUDGET_MS = 150_000
const OPTIONS: PlanOptions = { devices: 3, steps: 20 }
/** The fixed range, checked to pass; move it when open-bugs.test.ts is empty. */
const FIXED_FROM = 2_001

function firstSeed(): number {
  const wanted = process.env.SIM_SEEDS_FROM
  if (wanted === 'fresh')
    // Hours since the epoch, times a stride: each hour starts a range of its own.
    return Math.floor(Date.now() / 3_600_000) * 1_000 + Math.floor(Math.random() * 900)
  return wanted ? Number(wanted) : FIXED_FROM
}

it('a range of seeds keeps every invariant', async () => {
  const from = firstSeed()
  console.log(`simulator seeds from ${from} (up to ${SEEDS}), ${JSON.stringify(OPTIONS)}`)
  const started = Date.now()
  const failed: string[] = []
  let ran = 0
  for (let seed = from; seed < from + SEEDS && Date.now() - started < BUDGET_MS; seed++) {
    const result = await runPlan(planFor(seed, OPTIONS))
    ran++
    if (result.failures.length > 0) {
      failed.push(
        `seed ${seed}: ${result.failures.slice(0, 3).join('; ')}\n  replay: npm run sim:check -- --replay ${seed} --devices ${OPTIONS.devices} --steps ${OPTIONS.steps}`,
      )
    }
  }
  console.log(
    `simulator: ${ran} seeds from ${from} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  )
  expect(ran).toBeGreaterThan(0)
  expect(failed).toEqual([])
}, 240_000)
