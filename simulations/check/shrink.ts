/**
 * Shrinking: a failing plan is cut down to a short one that still fails, so the trace a
 * person reads is the few steps that matter. Fewer devices first, then chunks of steps
 * (halves, quarters, ... single steps: delta debugging), then the network's faults.
 */
import { NO_FAULTS } from './network.ts'
import type { Plan } from './workload.ts'

export interface ShrinkOptions {
  /** Runs at most; each is a whole simulated run. */
  maxRuns?: number
  onProgress?: (plan: Plan) => void
}

/** The smallest plan found that `fails`; the given one when nothing smaller does. */
export async function shrink(
  plan: Plan,
  fails: (plan: Plan) => Promise<boolean>,
  options: ShrinkOptions = {},
): Promise<Plan> {
  let runs = 0
  const budget = options.maxRuns ?? 200
  let best = plan
  const attempt = async (candidate: Plan): Promise<boolean> => {
    if (runs >= budget) return false
    runs++
    if (!(await fails(candidate))) return false
    best = candidate
    options.onProgress?.(candidate)
    return true
  }

  for (let devices = 1; devices < best.devices; devices++) {
    if (await attempt(withDevices(best, devices))) break
  }
  for (let size = Math.ceil(best.steps.length / 2); size >= 1 && runs < budget; ) {
    let removed = false
    for (let start = 0; start < best.steps.length && runs < budget; ) {
      const steps = [...best.steps.slice(0, start), ...best.steps.slice(start + size)]
      if (steps.length > 0 && (await attempt({ ...best, steps }))) removed = true
      else start += size
    }
    if (!removed) size = size === 1 ? 0 : Math.ceil(size / 2)
  }
  if (best.faults !== NO_FAULTS) await attempt({ ...best, faults: NO_FAULTS })
  return best
}

/** The plan for the first `devices` devices: steps of the others dropped. */
function withDevices(plan: Plan, devices: number): Plan {
  return {
    ...plan,
    devices,
    steps: plan.steps.filter((s) => !('device' in s.op) || s.op.device < devices),
  }
}
