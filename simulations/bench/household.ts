/**
 * npm run bench:household -- [--json] [--uplink-mbit 20] [--downlink-mbit 50] [--rtt-ms 0] [--mib N]
 * Two LAN devices on one bridge; the coordinator and its blob store in the cloud behind the
 * household's uplink (tc tbf). A file of N MiB saved on device a; printed: until identical on
 * device b (lan_visible_s), until committed in the cloud (cloud_commit_s), a plain TCP copy of
 * the same file from a to b, written and fsynced at b, in the same lab (lan_tcp_copy_s), and
 * lan_ratio = lan_visible_s / lan_tcp_copy_s. Needs root; everything is torn down after.
 * --trace: the daemons write a timeline (peer/trace.ts), summed up after the figures.
 */
import { appendFileSync } from 'node:fs'
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { exitOnHelp } from '../../protocol/bench/report.ts'
import { LabAccount, LabCoordinator, until } from '../lab/cloudsync.ts'
import { sha256File, writeRandom } from '../lab/files.ts'
import { Lab } from '../lab/lab.ts'
import { listen, run } from '../lab/probes.ts'
import { requireRoot } from '../lab/shell.ts'
import { NET } from '../lab/spec.ts'

const options = {
  json: { type: 'boolean', default: false },
  'uplink-mbit': { type: 'string', default: '20' },
  'downlink-mbit': { type: 'string', default: '50' },
  'rtt-ms': { type: 'string', default: '0' },
  mib: { type: 'string', default: '1024' },
  trace: { type: 'boolean', default: false },
} as const
exitOnHelp(options)
const { values } = parseArgs({ options })
const num = (name: keyof typeof values, min: number) => {
  const v = Number(values[name])
  if (!Number.isFinite(v) || v < min) {
    process.stderr.write(`--${name} must be a number >= ${min} (see --help)\n`)
    process.exit(2)
  }
  return v
}
const UP = num('uplink-mbit', 0.1)
const DOWN = num('downlink-mbit', 0.1)
const RTT = num('rtt-ms', 0)
const MIB = num('mib', 1)
requireRoot('bench:household')
const log = (line: string) => process.stderr.write(`${line}\n`)

const work = await mkdtemp('/tmp/cloudsync-household-')
let lab: Lab | undefined
try {
  lab = await Lab.create({
    lans: [{ name: 'home', hosts: ['a', 'b'], uplink: { upMbit: UP, downMbit: DOWN, rttMs: RTT } }],
  })
  const coordinator = new LabCoordinator(lab, join(work, 'cloud'))
  await coordinator.start()
  const product = new LabAccount(lab, work)
  await product.link(await coordinator.createAccount(), ['a', 'b'])
  const source = join(work, 'source.bin')
  await writeRandom(source, MIB * 1024 * 1024)
  const sourceHash = await sha256File(source)

  // The baseline, same lab, same bytes: a plain TCP copy a -> b, written and fsynced at b.
  const sink = await listen(lab, 'b', ['file-recv', '9100', join(work, 'tcp-copy.bin')])
  await run(lab, 'a', ['file-send', NET.lanHost(0, 1), '9100', source])
  const tcpCopyS = ((await sink.result()) as { seconds: number }).seconds
  await rm(join(work, 'tcp-copy.bin'))
  log(`plain TCP copy a -> b, fsynced: ${tcpCopyS.toFixed(2)} s`)

  // The daemons inherit it: they trace the file's way (peer/trace.ts).
  const traceFile = join(work, 'trace.jsonl')
  const mark = (event: string) => {
    if (values.trace) appendFileSync(traceFile, `${JSON.stringify({ at: Date.now(), event })}\n`)
  }
  if (values.trace) process.env.CLOUDSYNC_TRACE_FILE = traceFile
  product.startDaemon('a')
  product.startDaemon('b')
  await product.waitConnected(['a', 'b'], 1)
  const commitsBefore = (await product.status('a'))?.uploads.commits ?? 0
  // Staged in a's state dir (the watcher ignores it), then renamed in: the rename is the save.
  const staged = join(product.folder('a'), '.cloudsync', 'big.staged')
  await rename(source, staged)
  const target = join(product.folder('b'), 'big.bin')
  const bytes = MIB * 1024 * 1024
  const budgetMs = ((bytes * 8) / (UP * 1e6)) * 3_000 + 180_000
  const start = performance.now()
  mark('save')
  await rename(staged, join(product.folder('a'), 'big.bin'))
  let lanVisibleS: number | undefined
  let cloudCommitS: number | undefined
  await until(
    'the file on b and its cloud commit',
    budgetMs,
    async () => {
      product.checkAlive()
      const t = (performance.now() - start) / 1000
      if (
        lanVisibleS === undefined &&
        (await stat(target).catch(() => undefined))?.size === bytes
      ) {
        lanVisibleS = t
        mark('visible')
        log(`identical size on b after ${t.toFixed(1)} s`)
      }
      if (
        cloudCommitS === undefined &&
        ((await product.status('a'))?.uploads.commits ?? 0) > commitsBefore
      ) {
        cloudCommitS = t
        log(`cloud commit seen after ${t.toFixed(1)} s`)
      }
      return lanVisibleS !== undefined && cloudCommitS !== undefined ? true : undefined
    },
    50,
  )
  if ((await sha256File(target)) !== sourceHash) throw new Error("b's copy differs from a's file")
  const b = await product.status('b')
  const lanRatio = lanVisibleS! / tcpCopyS
  const commitBar = (1.2 * bytes * 8) / (UP * 1e6)
  const figures = {
    mib: MIB,
    uplink_mbit: UP,
    downlink_mbit: DOWN,
    rtt_ms: RTT,
    lan_visible_s: round(lanVisibleS!),
    cloud_commit_s: round(cloudCommitS!),
    lan_tcp_copy_s: round(tcpCopyS),
    lan_ratio: round(lanRatio),
    cloud_commit_bar_s: round(commitBar),
    b_from_peers_mib: round(
      ((b?.sources.swarm?.bytes ?? 0) + (b?.sources.prefetch?.bytes ?? 0)) / 2 ** 20,
    ),
    b_from_cloud_mib: round((b?.sources.cloud?.bytes ?? 0) / 2 ** 20),
  }
  const rows: [string, string][] = [
    ['file', `${MIB} MiB, uplink ${UP} Mbit/s, downlink ${DOWN} Mbit/s, added RTT ${RTT} ms`],
    ['lan_visible_s (identical on b)', `${figures.lan_visible_s}`],
    [
      'cloud_commit_s (status, 1 s steps)',
      `${figures.cloud_commit_s} (bar <= ${figures.cloud_commit_bar_s})`,
    ],
    ['lan_tcp_copy_s (baseline, same run)', `${figures.lan_tcp_copy_s}`],
    ['lan_ratio', `${figures.lan_ratio} (bar <= 2)`],
    ['b got from peers / cloud', `${figures.b_from_peers_mib} / ${figures.b_from_cloud_mib} MiB`],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`)
  if (values.json) console.log(JSON.stringify(figures))
  if (values.trace) log(summarise(await readFile(traceFile, 'utf8')))
} catch (err) {
  process.exitCode = 1
  log(`bench:household failed: ${(err as Error).stack ?? err}`)
} finally {
  await lab?.close()
  await rm(work, { recursive: true, force: true })
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}

/**
 * Each traced event: how often, first and last in ms after the save, and from which
 * process (the uploader is the one that encoded).
 */
function summarise(text: string): string {
  const events = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { at: number; pid?: number; event: string })
  const save = events.find((e) => e.event === 'save')?.at ?? 0
  const uploader = events.find((e) => e.event === 'encode-start')?.pid
  const rows = new Map<string, { count: number; first: number; last: number }>()
  for (const e of events) {
    if (e.at < save) continue
    const who = e.pid === undefined ? 'bench' : e.pid === uploader ? 'a' : 'b'
    const key = `${who} ${e.event}`
    const row = rows.get(key)
    if (row) {
      row.count++
      row.last = e.at - save
    } else rows.set(key, { count: 1, first: e.at - save, last: e.at - save })
  }
  const lines = [...rows].map(
    ([key, r]) =>
      `${key.padEnd(22)} ${String(r.first).padStart(7)} ms` +
      (r.count > 1 ? ` .. ${String(r.last).padStart(7)} ms (${r.count})` : ''),
  )
  return ['trace, ms after the save:', ...lines].join('\n')
}
