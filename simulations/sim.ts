/**
 * npm run sim -- --scenario NAME [--loss P] [--seed S] [--mode M] [--mib N] [--small N] [--json] [--out DIR]
 * npm run sim -- --matrix [--losses 0,1,5,10] [--scenarios household,commute,faults] [...]
 * Runs scenarios in the network lab (needs root) and writes a report folder: report.md,
 * results.json and SVG charts.
 */
import { parseArgs } from 'node:util'
import { requireRoot } from './lab/shell.ts'
import { writeReport } from './report/write.ts'
import { SCENARIOS } from './scenarios/index.ts'
import { type Cell, runScenario } from './scenarios/runner.ts'
import { MODES, type Mode, type RunResult } from './scenarios/types.ts'

const USAGE = `usage: npm run sim -- --scenario NAME [--loss P] [--seed S] [--mode peer-assisted|cloud-only|both] [--json]
       npm run sim -- --matrix [--losses 0,1,5,10] [--scenarios ${Object.keys(SCENARIOS).join(',')}]
  --mib N      the big file's size (default 1024 for one scenario, 64 in the matrix)
  --small N    how many small files (default 300, 100 in the matrix)
  --out DIR    the report folder (default /tmp/cloudsync-sim-report-<time>)
  Scenarios: ${Object.keys(SCENARIOS).join(', ')}. Needs root (network namespaces).`

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    matrix: { type: 'boolean', default: false },
    loss: { type: 'string', default: '0' },
    losses: { type: 'string', default: '0,1,5,10' },
    scenarios: { type: 'string', default: Object.keys(SCENARIOS).join(',') },
    seed: { type: 'string', default: '1' },
    mode: { type: 'string' },
    mib: { type: 'string' },
    small: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
if (values.matrix === (values.scenario !== undefined))
  fail('give either --scenario NAME or --matrix')
const number = (flag: string, text: string, min: number, max = Infinity) => {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    fail(`--${flag}: ${text} is not a number in ${min}..${max}`)
  return n
}
const names = values.matrix ? values.scenarios.split(',') : [values.scenario!]
for (const name of names) if (!(name in SCENARIOS)) fail(`unknown scenario ${name}`)
const losses = values.matrix
  ? values.losses.split(',').map((l) => number('losses', l, 0, 100))
  : [number('loss', values.loss, 0, 100)]
const modeArg = values.mode ?? (values.matrix ? 'both' : 'peer-assisted')
if (modeArg !== 'both' && !MODES.includes(modeArg as Mode))
  fail(`--mode ${modeArg}: use peer-assisted, cloud-only or both`)
const modes = modeArg === 'both' ? MODES : [modeArg as Mode]
const seed = number('seed', values.seed, 0)
const workload = {
  bigMib: number('mib', values.mib ?? (values.matrix ? '64' : '1024'), 0),
  smallFiles: number('small', values.small ?? (values.matrix ? '100' : '300'), 0, 999),
}
requireRoot('npm run sim')

const log = (line: string) => process.stderr.write(`${line}\n`)
const startedAt = new Date()
const began = performance.now()
const out =
  values.out ?? `/tmp/cloudsync-sim-report-${startedAt.toISOString().replace(/[:.]/g, '-')}`
const done: RunResult[] = []
let files: string[] = []
/** The report as it stands: rewritten after every cell, so a cut-short run still leaves one. */
const report = async (results: RunResult[], complete: boolean) => {
  files = await writeReport(out, results, {
    command: `npm run sim -- ${process.argv.slice(2).join(' ')}`,
    startedAt: startedAt.toISOString(),
    seconds: (performance.now() - began) / 1000,
    notes: [
      ...(complete ? [] : ['**Incomplete**: the run was still going when this was written.']),
      `Workload: one ${workload.bigMib} MiB file and ${workload.smallFiles} small files (1-64 KiB, sizes from seed ${seed}).`,
      'Loss is applied on every link in each direction: both ends of each WAN link, and each LAN host port.',
      'Delay: WAN links pass through a userspace TUN delay line (home 30 ms, remote 60 ms, roaming 80 ms round trip).',
      'Cloud-only mode: LAN hosts refuse each other\u2019s TCP (nftables reset), so the swarm finds no peer.',
      'synced s: seconds from the save until the folder held exactly the saved files, hashes checked; polled every 0.25 s.',
      'cloud commit s: from the writer\u2019s status file, rewritten every second.',
    ],
  })
}
for (const name of names) {
  const cells: Cell[] = losses.flatMap((loss) => modes.map((mode) => ({ loss, mode })))
  const onCell = (so: RunResult[]) => report([...done, ...so], false)
  done.push(...(await runScenario(SCENARIOS[name]!, cells, { seed, workload, log, onCell })))
}
const results = done
await report(results, true)
log(`report: ${out} (${files.join(', ')})`)
for (const r of results)
  console.log(
    `${r.scenario} ${r.mode} loss ${r.loss_pct}%: commit ${r.cloud_commit_s ?? '-'} s; ` +
      (r.error
        ? `failed: ${r.error}`
        : r.devices
            .map(
              (d) =>
                `${d.device} ${d.synced_s ?? '-'} s (peers ${d.from_peers_mib}, cloud ${d.from_cloud_mib} MiB)`,
            )
            .join('; ')),
  )
if (values.json)
  console.log(JSON.stringify({ report: out, results: results.map(({ timeline: _, ...r }) => r) }))
const failed = results.filter((r) => r.error || r.checks.some((c) => !c.ok))
if (failed.length) process.exitCode = 1
