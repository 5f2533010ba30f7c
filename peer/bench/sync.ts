/**
 * npm run bench:sync [-- --json] [--edits N] [--mib N]
 * A coordinator (blob store on tmpfs, /dev/shm) and two devices A and B on loopback, all
 * real `cloudsync` processes in a fresh temp dir, then:
 * - small-file propagation: a 4 KiB file written on A until identical on B, N edits;
 * - a 1 GiB file from A to B (A's save until B's file is complete and fsynced, which is
 *   when it appears under its name: the daemon writes temp + fsync + rename), beside a
 *   plain TCP copy of the same bytes over loopback and `dd conv=fsync` in the same run;
 * - the peak RSS of each daemon during the transfer.
 * Bars (issue 4): p50 <= 300 ms, p99 <= 1 s, >= 150 MB/s, RSS <= 300 MB.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { copyFile, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { benchArgs, fmt, mbps, report } from '../../protocol/bench/report.ts'
import { GiB, KiB, MiB } from '../../protocol/constants.ts'
import {
  cpuSeconds,
  ddMbps,
  freeBytes,
  percentile,
  procMemMb,
  RssSampler,
  readStatus,
  sha256File,
  sleep,
  Workspace,
  waitFor,
} from './harness.ts'
import { ensureSyncthing, syncthingTransfer } from './syncthing.ts'

const args = benchArgs({ edits: { type: 'string' }, mib: { type: 'string' } })
const { json } = args
const values = args.values as { edits?: string; mib?: string }
/** BENCH_TRACE=1: the devices' counters every half second during the transfer. */
const TRACE = process.env.BENCH_TRACE === '1'
/** BENCH_CPU_PROF=DIR: the daemons run with --cpu-prof, profiles written to DIR on exit. */
const PROFILE = process.env.BENCH_CPU_PROF
const EDITS = Number(values.edits ?? 50)
const BIG = Number(values.mib ?? 1024) * MiB
const SMALL = 4 * KiB
const log = (line: string) => process.stderr.write(`${line}\n`)

const ws = new Workspace()
await ws.run('bench:sync', main)

async function main() {
  const tmp = await ws.tempDir('/tmp', 'cloudsync-bench-sync-')
  const shm = await ws.tempDir('/dev/shm', 'cloudsync-bench-blobs-')
  // source, A's copy, B's copy, then Syncthing's B copy (dd and TCP files are removed)
  const need = 4 * BIG + 256 * MiB
  if ((await freeBytes(tmp)) < need) throw new Error(`need ${need / GiB} GiB free in /tmp`)
  if ((await freeBytes(shm)) < BIG + 256 * MiB)
    throw new Error(`need ${BIG / GiB} GiB free in /dev/shm`)

  log(`coordinator (blobs in ${shm}) and devices A, B in ${tmp}`)
  const coordinator = await ws.coordinator(shm)
  const token = await ws.cli([
    'account',
    'create',
    '--coordinator',
    coordinator.url,
    '--data-dir',
    shm,
  ])
  const dirA = join(tmp, 'A')
  const dirB = join(tmp, 'B')
  await ws.cli([
    'link',
    '--coordinator',
    coordinator.url,
    '--token',
    token,
    '--dir',
    dirA,
    '--name',
    'a',
  ])
  const code = await ws.cli(['invite', '--dir', dirA])
  await ws.cli(['link', code, '--dir', dirB, '--name', 'b'])
  const daemon = (dir: string) =>
    ws.spawn(['sync', '--dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-level', 'warn'], {
      nodeArgs: PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : [],
    })
  const a = daemon(dirA)
  const b = daemon(dirB)
  for (const [name, dir, proc] of [
    ['A', dirA, a],
    ['B', dirB, b],
  ] as const) {
    await waitFor(
      `device ${name} connected and seeing its peer online`,
      async () => {
        if (proc.child.exitCode !== null)
          throw new Error(`device ${name} exited: ${proc.stderr().slice(-2000)}`)
        const s = await readStatus(dir)
        return s?.connected && s.devices.some((d) => d.online) ? true : undefined
      },
      { timeoutMs: 60_000, everyMs: 100 },
    )
  }

  // --- small-file propagation ---
  const latencies: number[] = []
  const small = 'small.bin'
  for (let i = 0; i < EDITS; i++) {
    const bytes = randomBytes(SMALL)
    const start = performance.now()
    await writeFile(join(dirA, small), bytes)
    await waitFor(
      `edit ${i} to reach B`,
      async () => {
        const got = await readFile(join(dirB, small)).catch(() => undefined)
        return got?.equals(bytes) ? true : undefined
      },
      { timeoutMs: 15_000, everyMs: 2 },
    )
    latencies.push(performance.now() - start)
    // A pause between edits, as a person saving a file would leave.
    await sleep(100)
  }
  latencies.sort((x, y) => x - y)
  const lat = {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1)!,
  }
  log(`latency over ${EDITS} edits: p50 ${fmt(lat.p50)} ms, p99 ${fmt(lat.p99)} ms`)

  // --- the big file: source bytes, then dd and TCP baselines on the same disk ---
  const source = join(tmp, 'big.src')
  await writeRandom(source, BIG)
  const sourceHash = await sha256File(source)
  const ddFile = join(tmp, 'dd.bin')
  const ddRate = ddMbps(ddFile, BIG / MiB)
  await rm(ddFile, { force: true })
  log(`dd conv=fsync: ${fmt(ddRate)} MB/s`)
  const tcpFile = join(tmp, 'tcp.bin')
  const tcpMs = await tcpCopy(source, tcpFile)
  await rm(tcpFile, { force: true })
  log(`TCP copy + fsync: ${fmt(mbps(BIG, tcpMs))} MB/s`)

  // --- the big file through the swarm ---
  // Copied into A's state dir (ignored by the watcher), then renamed into the folder: the
  // rename is the save.
  const staged = join(dirA, '.cloudsync', 'big.staged')
  await copyFile(source, staged)
  const before = await readStatus(dirB)
  const sampler = new RssSampler([a.pid, b.pid])
  const cpuBefore = [a.pid, b.pid, coordinator.pid].map(cpuSeconds)
  const target = join(dirB, 'big.bin')
  const start = performance.now()
  let traced = start
  await rename(staged, join(dirA, 'big.bin'))
  await waitFor(
    'the big file to appear on B',
    async () => {
      for (const [name, proc] of [
        ['A', a],
        ['B', b],
      ] as const) {
        if (proc.child.exitCode !== null)
          throw new Error(`device ${name} exited: ${proc.stderr().slice(-2000)}`)
      }
      if (TRACE && performance.now() - traced >= 500) {
        traced = performance.now()
        const [sa, sb] = [await readStatus(dirA), await readStatus(dirB)]
        log(
          `${fmt((traced - start) / 1000, 1)} s: A sent ${fmt((sa?.uploads.bytesSent ?? 0) / 1e6)} MB` +
            ` (${sa?.uploads.commits ?? 0} commits, ${sa?.uploads.encryptionsShared ?? 0} shared); B from prefetch ${fmt((sb?.sources.prefetch?.bytes ?? 0) / 1e6)} MB,` +
            ` swarm ${fmt((sb?.sources.swarm?.bytes ?? 0) / 1e6)} MB, cloud ${fmt((sb?.sources.cloud?.bytes ?? 0) / 1e6)} MB; RSS A ${fmt(procMemMb(a.pid) ?? 0)} B ${fmt(procMemMb(b.pid) ?? 0)} MB`,
        )
      }
      const s = await stat(target).catch(() => undefined)
      return s?.size === BIG ? true : undefined
    },
    { timeoutMs: 600_000, everyMs: 10 },
  )
  const transferMs = performance.now() - start
  const cpu = [a.pid, b.pid, coordinator.pid].map((pid, i) => {
    const now = cpuSeconds(pid)
    const user = now.user - cpuBefore[i]!.user
    const system = now.system - cpuBefore[i]!.system
    return `${fmt(user + system, 1)} (${fmt((100 * system) / (user + system || 1))}% sys)`
  })
  const peaks = sampler.stop()
  const hwm = { a: procMemMb(a.pid, 'VmHWM'), b: procMemMb(b.pid, 'VmHWM') }
  const transferRate = mbps(BIG, transferMs)
  log(`swarm transfer: ${fmt(transferMs / 1000, 2)} s, ${fmt(transferRate)} MB/s; verifying`)
  const identical = (await sha256File(target)) === sourceHash
  if (!identical) throw new Error("B's copy of the big file differs from A's")
  // The status file is rewritten every second: wait for the one after the transfer.
  await sleep(1_100)
  const after = await readStatus(dirB)
  const settled = { a: procMemMb(a.pid), b: procMemMb(b.pid) }
  const delta = (source: string) =>
    (after?.sources[source]?.bytes ?? 0) - (before?.sources[source]?.bytes ?? 0)
  const sourceNames = Object.keys(after?.sources ?? {})
  const [rssA, rssB] = [peaks.get(a.pid) ?? 0, peaks.get(b.pid) ?? 0]

  // --- the side-by-side peer: Syncthing on the same bytes, in the same run ---
  let syncthingRate: number | undefined
  if (ensureSyncthing(log)) {
    const stSource = join(tmp, 'st.src')
    await rename(source, stSource)
    const seconds = await syncthingTransfer(ws, tmp, stSource)
    syncthingRate = mbps(BIG, seconds * 1000)
    log(`Syncthing A -> B: ${fmt(seconds, 2)} s, ${fmt(syncthingRate)} MB/s`)
  }

  const figures = {
    latency_p50_ms: round(lat.p50),
    latency_p90_ms: round(lat.p90),
    latency_p99_ms: round(lat.p99),
    latency_max_ms: round(lat.max),
    transfer_mbps: round(transferRate),
    tcp_mbps: round(mbps(BIG, tcpMs)),
    disk_limit_mbps: round(ddRate),
    peak_rss_mb: round(Math.max(rssA, rssB)),
    syncthing_mbps: syncthingRate === undefined ? null : round(syncthingRate),
    vs_syncthing: syncthingRate === undefined ? null : round2(transferRate / syncthingRate),
  }
  const mb = (n: number) => `${fmt(n / 1e6)} MB`
  report(
    [
      ['small file (4 KiB) A -> B', `${EDITS} edits`],
      ['  p50', `${fmt(lat.p50)} ms (bar <= 300)`],
      ['  p90', `${fmt(lat.p90)} ms`],
      ['  p99', `${fmt(lat.p99)} ms (bar <= 1000)`],
      ['  max', `${fmt(lat.max)} ms`],
      [
        `${BIG / MiB} MiB file A -> B`,
        `${fmt(transferMs / 1000, 2)} s, ${fmt(transferRate)} MB/s (bar >= 150)`,
      ],
      [
        '  B got, by source',
        sourceNames.map((name) => `${name} ${mb(delta(name))}`).join(', ') || 'nothing counted',
      ],
      ['  share of dd', `${fmt((100 * transferRate) / ddRate)}% (aim >= 85%)`],
      [
        'Syncthing A -> B, same file',
        syncthingRate === undefined
          ? 'not installed'
          : `${fmt(syncthingRate)} MB/s, vs_syncthing ${fmt(transferRate / syncthingRate, 2)} (bar >= 1.0)`,
      ],
      ['plain TCP copy + fsync', `${fmt(mbps(BIG, tcpMs))} MB/s`],
      ['dd conv=fsync (disk limit)', `${fmt(ddRate)} MB/s`],
      [
        '  CPU time A / B / coordinator',
        `${cpu.join(' / ')} s, of ${fmt((2 * transferMs) / 1000, 1)} s on 2 cores`,
      ],
      ['peak RSS during transfer A / B', `${fmt(rssA)} / ${fmt(rssB)} MB (bar <= 300)`],
      ['VmHWM since start A / B', `${fmt(hwm.a ?? 0)} / ${fmt(hwm.b ?? 0)} MB`],
      ['RSS A / B once done', `${fmt(settled.a ?? 0)} / ${fmt(settled.b ?? 0)} MB`],
    ],
    figures,
    json,
  )
}

function round(n: number): number {
  return Math.round(n * 10) / 10
}

function round2(n: number): number {
  return Math.round(n * 100) / 100
}

/** Random-looking bytes fast: AES-CTR would do, but 16 MiB of randomBytes a time is plenty. */
async function writeRandom(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path)
  for (let at = 0; at < bytes; at += 16 * MiB) {
    if (!out.write(randomBytes(Math.min(16 * MiB, bytes - at))))
      await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  )
}

/**
 * The same bytes over a plain loopback TCP socket into a file, fsynced: what the swarm
 * transfer would be with no encryption, muxing, verification nor cloud in the way.
 */
async function tcpCopy(from: string, to: string): Promise<number> {
  const server = createServer()
  const received = new Promise<void>((resolve, reject) => {
    server.once('connection', (socket) => {
      void (async () => {
        await pipeline(socket, createWriteStream(to))
        // fsync is per file, not per descriptor: this flushes what the stream wrote.
        const fh = await open(to, 'r+')
        try {
          await fh.sync()
        } finally {
          await fh.close()
        }
      })().then(resolve, reject)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const timeout = AbortSignal.timeout(600_000)
  try {
    const start = performance.now()
    const socket = connect(port, '127.0.0.1')
    await Promise.all([
      pipeline(createReadStream(from, { highWaterMark: MiB }), socket, { signal: timeout }),
      received,
    ])
    return performance.now() - start
  } finally {
    server.close()
  }
}
