/**
 * `npm run bench:coordinator [-- --json] [--url URL (--operator-token T | --token LINK)]`
 *
 * Per backend: commits per second (init + PUT + complete of 4 KiB single-chunk files,
 * concurrency 32), change-feed reads per second, and push latency from commit to the
 * account's WebSockets with an idle fleet (2,000 devices over 500 accounts) connected.
 * Without --url it starts its own coordinators: two on Postgres + Redis when both answer
 * (a fresh schema, dropped after), and one on the embedded defaults. A benchmark, not a
 * test: it prints figures; `--json` ends with one JSON line (Postgres + Redis when there).
 *
 * On Postgres + Redis (the production shape) the chunk bytes would go to S3, on other
 * machines; here the coordinators' local blob store stands in for it, kept on tmpfs
 * (`/dev/shm`, or `--blob-root`) so that a chunk's fsync on this machine's disk is not
 * counted as the control plane's cost. The embedded run keeps everything on disk, as it
 * runs in real life.
 */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { parseArgs } from 'node:util'
import { exitOnHelp } from '../../protocol/bench/report.ts'
import { postgresReachable } from '../store/test/pg-harness.ts'
import { redisReachable } from '../test/process-harness.ts'
import { closeClient } from './client.ts'
import { type Plan, startEmbedded, startPostgres, type Target, useRunning } from './targets.ts'
import { measureCommits, measureHttpFloor, measurePush, measureReads } from './workloads.ts'

const options = {
  json: { type: 'boolean', default: false },
  url: { type: 'string' },
  token: { type: 'string' },
  'operator-token': { type: 'string' },
  backend: { type: 'string', default: 'all' }, // all | postgres | embedded
  instances: { type: 'string', default: '2' },
  commits: { type: 'string', default: '5000' },
  reads: { type: 'string', default: '20000' },
  pushes: { type: 'string', default: '400' },
  seconds: { type: 'string', default: '10' },
  concurrency: { type: 'string', default: '32' },
  devices: { type: 'string', default: '2000' },
  accounts: { type: 'string', default: '500' },
  'commit-accounts': { type: 'string', default: '8' },
  profile: { type: 'string' }, // directory for the coordinators' --cpu-prof output
  'blob-root': { type: 'string' },
} as const
exitOnHelp(options)
const { values: opts } = parseArgs({ options })
const num = (name: keyof typeof opts) => Number(opts[name])
const log = (line: string) => process.stderr.write(`${line}\n`)

interface Row {
  backend: string
  instances: number
  commits_per_s: number
  changes_reads_per_s: number
  push_p50_ms: number
  push_p99_ms: number
  push_samples: number
  idle_sockets: number
  /** `GET /healthz` per second, same concurrency, same instances (measureHttpFloor). */
  http_floor_per_s: number
}

async function measure(target: Target): Promise<Row> {
  const limits = (count: number, concurrency = num('concurrency')) => ({
    count,
    ms: num('seconds') * 1000,
    concurrency,
  })
  log(`${target.backend}: ${target.instances.length} instance(s) ${target.instances.join(' ')}`)
  const floor = await measureHttpFloor(target.instances, { ...limits(1_000_000), ms: 3000 })
  log(`  yardstick: GET /healthz at ${floor.perSecond.toFixed(0)}/s`)
  const commits = await measureCommits(target.instances, target.committers, limits(num('commits')))
  log(
    `  commits: ${commits.done} at ${commits.perSecond.toFixed(0)}/s ` +
      `(${(commits.perSecond / floor.perSecond).toFixed(3)} of the yardstick)`,
  )
  const reads = await measureReads(target.instances, target.committers, limits(num('reads')))
  log(`  changes reads: ${reads.done} at ${reads.perSecond.toFixed(0)}/s`)
  // Pushes at a modest pace (4 commits in flight): latency, not throughput, is the figure.
  // `--pushes 0` skips the phase (and the fleet), e.g. while profiling commits.
  const push =
    num('pushes') > 0
      ? await measurePush(target.instances, target.fleet, limits(num('pushes'), 4), log)
      : { p50: Number.NaN, p99: Number.NaN, samples: 0, sockets: 0 }
  log(`  push: ${push.samples} deliveries, p50 ${push.p50} ms, p99 ${push.p99} ms`)
  return {
    backend: target.backend,
    instances: target.instances.length,
    commits_per_s: Math.round(commits.perSecond),
    changes_reads_per_s: Math.round(reads.perSecond),
    push_p50_ms: push.p50,
    push_p99_ms: push.p99,
    push_samples: push.samples,
    idle_sockets: push.sockets,
    http_floor_per_s: Math.round(floor.perSecond),
  }
}

async function run(start: () => Promise<Target>): Promise<Row> {
  const target = await start()
  try {
    return await measure(target)
  } finally {
    await target.stop()
  }
}

function table(rows: Row[]): string {
  const head = [
    'backend',
    'inst',
    'commits/s',
    'reads/s',
    'push p50',
    'push p99',
    'samples',
    'idle sockets',
    'healthz/s',
  ]
  const body = rows.map((r) => [
    r.backend,
    String(r.instances),
    String(r.commits_per_s),
    String(r.changes_reads_per_s),
    `${r.push_p50_ms} ms`,
    `${r.push_p99_ms} ms`,
    String(r.push_samples),
    String(r.idle_sockets),
    String(r.http_floor_per_s),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  return [head, ...body]
    .map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  '))
    .join('\n')
}

async function main(): Promise<void> {
  const plan: Plan = {
    commitAccounts: num('commit-accounts'),
    fleetAccounts: num('pushes') > 0 ? num('accounts') : 0,
    fleetDevices: num('devices'),
    nodeArgs: opts.profile ? ['--cpu-prof', '--cpu-prof-dir', opts.profile] : [],
    blobRoot: opts['blob-root'] ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()),
  }
  const rows: Row[] = []
  if (opts.url) {
    const access = { operatorToken: opts['operator-token'], token: opts.token }
    if (!access.operatorToken) log('note: no --operator-token: one account, no idle fleet')
    const { url } = opts
    rows.push(await run(() => useRunning(url, access, plan)))
  } else {
    const want = opts.backend
    if (want === 'all' || want === 'postgres') {
      if ((await postgresReachable()) && (await redisReachable())) {
        rows.push(await run(() => startPostgres(plan, num('instances'))))
      } else {
        log('Postgres or Redis unreachable: no postgres+redis figures')
      }
    }
    if (want === 'all' || want === 'embedded') rows.push(await run(() => startEmbedded(plan)))
  }
  closeClient()
  process.stdout.write(`${table(rows)}\n`)
  if (opts.json && rows.length > 0) {
    // The JSON line is the table's row without its bookkeeping columns, plus the ratio.
    const { instances: _, push_samples: __, idle_sockets: ___, ...row } = rows[0]!
    const figures = {
      ...row,
      commits_per_floor: Number((row.commits_per_s / row.http_floor_per_s).toFixed(3)),
    }
    process.stdout.write(`${JSON.stringify(figures)}\n`)
  }
}

await main()
