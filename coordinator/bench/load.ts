/**
 * npm run bench:load [-- --json] [--seconds N] [--connections N] [--devices N]
 *
 * HTTP load with autocannon against two coordinator processes on Postgres + Redis (a
 * fresh schema, dropped after), requests spread over both: upload init + complete (a file
 * whose chunk is already stored, so no bytes move), the changes feed, and metadata reads,
 * each with latency percentiles, beside `GET /healthz` from the same run as the yardstick
 * (the HTTP floor of this machine). First it holds `--devices` idle WebSocket devices open
 * over both instances and prints the coordinators' resident memory per connection.
 * A benchmark, not a test: figures vary with the machine's load.
 */
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import autocannon from 'autocannon'
import { exitOnHelp } from '../../protocol/bench/report.ts'
import { backendsReachable } from '../test/process-harness.ts'
import { closeClient, commitFile, encryptedFile, runFor } from './client.ts'
import { startPostgres } from './targets.ts'

const options = {
  json: { type: 'boolean', default: false },
  seconds: { type: 'string', default: '10' },
  connections: { type: 'string', default: '32' },
  devices: { type: 'string', default: '10000' },
} as const
exitOnHelp(options)
const { parseArgs } = await import('node:util')
const { values: opts } = parseArgs({ options })
const seconds = Number(opts.seconds)
const connections = Number(opts.connections)
const deviceCount = Number(opts.devices)
const log = (line: string) => process.stderr.write(`${line}\n`)

if (!(await backendsReachable())) {
  log('bench:load needs Postgres (DATABASE_URL) and Redis (REDIS_URL)')
  process.exit(2)
}

interface Row {
  workload: string
  requests_per_s: number
  p50_ms: number
  p90_ms: number
  p99_ms: number
  errors: number
}

const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

const target = await startPostgres(
  {
    commitAccounts: 1,
    fleetAccounts: Math.max(1, Math.ceil(deviceCount / 10)),
    fleetDevices: deviceCount,
    nodeArgs: [],
    blobRoot: tmpdir(),
  },
  2,
)
const rows: Row[] = []
try {
  const committer = target.committers[0]!
  const auth = { authorization: `Bearer ${committer.credential}` }
  // One stored file: its chunk is known, so every init below needs no upload.
  const file = encryptedFile(committer.secret)
  await commitFile(target.instances[0]!, committer.credential, 'load/seed.bin', file)
  const list = await fetch(`${target.instances[0]}/files`, { headers: auth })
  const fileId = ((await list.json()) as { files: { fileId: string }[] }).files[0]!.fileId

  // Idle devices first, on fresh processes: memory per open WebSocket over both instances.
  const pids = target.pids ?? []
  const before = pids.reduce((sum, pid) => sum + rssBytes(pid), 0)
  const devices = target.fleet.flat()
  const sockets: WebSocket[] = []
  const started = performance.now()
  await runFor(devices.length, 180_000, 50, async (i) => {
    const base = target.instances[i % target.instances.length]!
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/sync/ws`, {
      headers: { authorization: `Bearer ${devices[i]!.credential}` },
    } as never)
    sockets.push(ws)
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'hello', cursor: 0 })))
      ws.addEventListener('message', (e) => {
        if (JSON.parse(String(e.data)).type === 'ready') resolve()
      })
      ws.addEventListener('error', () => reject(new Error('socket failed')))
    })
  })
  const openSeconds = (performance.now() - started) / 1000
  await new Promise((r) => setTimeout(r, 2000))
  const after = pids.reduce((sum, pid) => sum + rssBytes(pid), 0)
  const perSocket = (after - before) / Math.max(1, sockets.length)
  for (const ws of sockets) ws.close()
  log(`  ${sockets.length} idle sockets open in ${openSeconds.toFixed(1)} s`)
  // Their disconnects (presence writes, announcements) settle before the HTTP runs.
  await new Promise((r) => setTimeout(r, 5000))

  /** autocannon on both instances at once, half the connections each; merged figures. */
  const run = async (workload: string, make: (base: string) => autocannon.Options) => {
    const results = await Promise.all(
      target.instances.map((base) =>
        autocannon({ ...make(base), connections: connections / 2, duration: seconds }),
      ),
    )
    const worst = (key: 'p50' | 'p90' | 'p99') => Math.max(...results.map((r) => r.latency[key]))
    const row: Row = {
      workload,
      requests_per_s: Math.round(results.reduce((sum, r) => sum + r.requests.average, 0)),
      p50_ms: worst('p50'),
      p90_ms: worst('p90'),
      p99_ms: worst('p99'),
      errors: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
    }
    rows.push(row)
    log(`  ${workload}: ${row.requests_per_s}/s, p50 ${row.p50_ms} p99 ${row.p99_ms} ms`)
  }

  await run('GET /healthz (yardstick)', (base) => ({ url: `${base}/healthz` }))
  await run('GET /sync/changes', (base) => ({
    url: `${base}/sync/changes?cursor=0&limit=100`,
    headers: auth,
  }))
  await run('GET /files/:id/metadata', (base) => ({
    url: `${base}/files/${fileId}/metadata`,
    headers: auth,
  }))
  let n = 0
  await run('POST init, POST complete (each a request)', (base) => ({
    url: base,
    requests: [
      {
        method: 'POST',
        path: '/files/upload/init',
        headers: { ...auth, 'content-type': 'application/json' },
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ path: `load/${n++}.bin`, ...file.manifest, baseVersion: null }),
        }),
        onResponse: (_status, body, context) => {
          ;(context as { sessionId?: string }).sessionId = JSON.parse(body).sessionId
        },
      },
      {
        method: 'POST',
        headers: auth,
        setupRequest: (req, context) => ({
          ...req,
          path: `/files/upload/${(context as { sessionId?: string }).sessionId}/complete`,
        }),
      },
    ],
  }))

  const width = Math.max(...rows.map((r) => r.workload.length))
  const floor = rows[0]!.requests_per_s
  for (const r of rows) {
    console.log(
      `${r.workload.padEnd(width)}  ${String(r.requests_per_s).padStart(6)}/s (${(r.requests_per_s / floor).toFixed(2)}x floor)  p50 ${r.p50_ms} ms  p90 ${r.p90_ms} ms  p99 ${r.p99_ms} ms  errors ${r.errors}`,
    )
  }
  console.log(
    `idle WebSockets: ${sockets.length} over ${pids.length} instances; RSS ${(before / 2 ** 20).toFixed(0)} -> ${(after / 2 ** 20).toFixed(0)} MiB; ${(perSocket / 1024).toFixed(1)} KiB per connection`,
  )
  if (opts.json) {
    console.log(JSON.stringify({ rows, sockets: sockets.length, bytes_per_socket: perSocket }))
  }
} finally {
  closeClient()
  await target.stop()
}
