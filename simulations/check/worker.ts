/**
 * A child process of `sim:check`: runs the seeds its parent sends, one at a time, and
 * answers each one's failures. One coordinator database per process, reused across runs.
 */
import { runPlan } from './run.ts'
import { type PlanOptions, planFor } from './workload.ts'

export interface SeedJob {
  seed: number
  options: PlanOptions
}

export interface SeedResult {
  seed: number
  failures: string[]
  virtualMs: number
}

process.on('message', (job: SeedJob | 'exit') => {
  if (job === 'exit') process.exit(0)
  void runPlan(planFor(job.seed, job.options)).then(
    (result) => {
      const answer: SeedResult = {
        seed: job.seed,
        failures: result.failures,
        virtualMs: result.virtualMs,
      }
      process.send?.(answer)
    },
    (err: unknown) => {
      const answer: SeedResult = {
        seed: job.seed,
        failures: [`the simulator itself failed: ${(err as Error).stack ?? String(err)}`],
        virtualMs: 0,
      }
      process.send?.(answer)
    },
  )
})
process.send?.('ready')
