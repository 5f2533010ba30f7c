/**
 * `npm run sim:check -- --seeds N [--from S] [--devices D] [--steps K] [--workers W]`
 * runs N seeded histories and prints seeds per second; for a failure, its seed, what
 * broke, a shrunk plan and the exact commands that replay both.
 * `--replay S` (with the same --devices/--steps) or `--plan FILE` replays one run and
 * prints its trace (`--verbose` adds every call and engine warning).
 */
import { fork } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runPlan } from './run.ts'
import { shrink } from './shrink.ts'
import type { SeedJob, SeedResult } from './worker.ts'
import { type Plan, type PlanOptions, planFor } from './workload.ts'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string', default: '1' },
    devices: { type: 'string', default: '3' },
    steps: { type: 'string', default: '20' },
    workers: { type: 'string' },
    calm: { type: 'boolean', default: false },
    'no-swaps': { type: 'boolean', default: false },
    'folder-swaps': { type: 'boolean', default: false },
    replay: { type: 'string' },
    plan: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    'no-shrink': { type: 'boolean', default: false },
  },
})

const options: PlanOptions = {
  devices: positive('devices'),
  steps: positive('steps'),
  faults: !values.calm,
  swaps: !values['no-swaps'],
  folderSwaps: values['folder-swaps'],
}
const flags = [
  `--devices ${options.devices} --steps ${options.steps}`,
  ...(values.calm ? ['--calm'] : []),
  ...(values['no-swaps'] ? ['--no-swaps'] : []),
  ...(values['folder-swaps'] ? ['--folder-swaps'] : []),
].join(' ')

if (values.plan !== undefined) {
  process.exit(await replay(JSON.parse(readFileSync(values.plan, 'utf8')) as Plan))
} else if (values.replay !== undefined) {
  process.exit(await replay(planFor(Number(values.replay), options)))
} else {
  process.exit(await check())
}

async function replay(plan: Plan): Promise<number> {
  const result = await runPlan(plan, { trace: true, verbose: values.verbose })
  for (const line of result.trace) console.log(line)
  console.log(result.failures.length === 0 ? 'passed' : `FAILED: ${result.failures.length} broken`)
  return result.failures.length === 0 ? 0 : 1
}

async function check(): Promise<number> {
  const count = positive('seeds')
  const from = Number(values.from)
  const workers = Math.min(count, Number(values.workers ?? Math.min(2, availableParallelism())))
  console.log(`sim:check: seeds ${from}..${from + count - 1}, ${flags}, ${workers} worker(s)`)
  const started = performance.now()
  const failed: SeedResult[] = []
  let next = from
  let done = 0
  await Promise.all(
    Array.from({ length: workers }, async () => {
      const child = fork(join(import.meta.dirname, 'worker.ts'), { stdio: 'inherit' })
      await new Promise((resolve) => child.once('message', resolve))
      for (;;) {
        const seed = next++
        if (seed >= from + count) break
        const job: SeedJob = { seed, options }
        const result = await new Promise<SeedResult>((resolve, reject) => {
          child.once('message', (m) => resolve(m as SeedResult))
          child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
          child.send(job)
        })
        child.removeAllListeners('exit')
        done++
        if (result.failures.length > 0) {
          failed.push(result)
          console.log(`seed ${seed} FAILED: ${result.failures[0]}`)
        }
        if (done % 100 === 0) console.log(`${done} seeds, ${rate(done, started)}`)
      }
      child.send('exit')
    }),
  )
  console.log(
    `${done} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s: ${rate(done, started)}, ${failed.length} failed`,
  )
  if (failed.length === 0) return 0
  failed.sort((a, b) => a.seed - b.seed)
  for (const f of failed.slice(0, 10)) {
    console.log(`\nseed ${f.seed}:`)
    for (const line of f.failures.slice(0, 8)) console.log(`  ${line}`)
    console.log(`  replay: npm run sim:check -- --replay ${f.seed} ${flags}`)
  }
  if (!values['no-shrink']) await report(failed[0]!.seed)
  return 1
}

/** Shrinks the first failure and saves the shrunk plan where the replay command finds it. */
async function report(seed: number): Promise<void> {
  console.log(`\nshrinking seed ${seed} ...`)
  const small = await shrink(planFor(seed, options), async (plan) => {
    const result = await runPlan(plan)
    return result.failures.length > 0
  })
  mkdirSync('.tmp', { recursive: true })
  const file = join('.tmp', `sim-${seed}.json`)
  writeFileSync(file, `${JSON.stringify(small, null, 1)}\n`)
  const result = await runPlan(small, { trace: true })
  console.log(`shrunk to ${small.devices} device(s), ${small.steps.length} step(s):`)
  for (const line of result.trace) console.log(`  ${line}`)
  console.log(`replay the shrunk plan: npm run sim:check -- --plan ${file}`)
}

function rate(done: number, started: number): string {
  return `${(done / ((performance.now() - started) / 1000)).toFixed(2)} seeds/s`
}

function positive(name: 'devices' | 'steps' | 'seeds'): number {
  const n = Number(values[name])
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a whole number >= 1, got ${values[name]}`)
    process.exit(2)
  }
  return n
}
