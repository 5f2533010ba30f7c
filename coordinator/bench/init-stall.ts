/**
 * `npm run bench:init-stall [-- --backend embedded|postgres] [--gb 50] [--chunk-mib 1]`
 *
 * Whether one large upload init stalls the coordinator (issue 15, section 3): a real
 * coordinator process, one device; `GET /healthz` is polled back to back, first alone (the
 * baseline) and then while that device initialises a manifest of a `--gb` GB file cut into
 * `--chunk-mib` MiB chunks (50 GB of 1 MiB chunks: 47,684 chunks, the most such a file can
 * have). Prints /healthz p50/p99/max for both, the ratio of the p99s, and the init's time.
 * The bar: /healthz p99 <= 50 ms during the init. --backend postgres takes DATABASE_URL and
 * REDIS_URL. With --json, one JSON line of the figures comes last.
 */
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { parseArgs } from 'node:util'
import { exitOnHelp } from '../../protocol/bench/report.ts'
import { call, closeClient, expectStatus, percentile } from './client.ts'
import { startEmbedded, startPostgres, type Target } from './targets.ts'

const options = {
  json: { type: 'boolean', default: false },
  backend: { type: 'string', default: 'embedded' },
  gb: { type: 'string', default: '50' },
  'chunk-mib': { type: 'string', default: '1' },
  'baseline-seconds': { type: 'string', default: '3' },
} as const
exitOnHelp(options)
const { values: opts } = parseArgs({ options })

const MiB = 1024 * 1024
const hex = () => randomBytes(32).toString('hex')

/** A manifest of `gb` GB in chunks of `chunkMiB` MiB (the last one shorter). */
function bigManifest(gb: number, chunkMiB: number) {
  const size = Math.round(gb * 1e9)
  const chunks = []
  for (let offset = 0, index = 0; offset < size; index++) {
    const length = Math.min(chunkMiB * MiB, size - offset)
    chunks.push({ index, id: hex(), offset, size: length, cipherSize: length + 16, seal: hex() })
    offset += length
  }
  return { size, hash: hex(), chunks }
}

/** Polls /healthz back to back until `until` settles or `ms` pass; answers the latencies. */
async function pollHealth(base: string, until: Promise<unknown> | number): Promise<number[]> {
  const latencies: number[] = []
  let done = false
  if (typeof until === 'number') setTimeout(() => (done = true), until)
  else void until.finally(() => (done = true))
  while (!done) {
    const t0 = performance.now()
    expectStatus(await call(`${base}/healthz`, 'GET'), 200, 'healthz')
    latencies.push(performance.now() - t0)
  }
  return latencies
}

const summary = (xs: number[]) =>
  `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, ` +
  `max ${Math.max(...xs).toFixed(1)} ms over ${xs.length} requests`

const plan = {
  commitAccounts: 1,
  fleetAccounts: 0,
  fleetDevices: 0,
  nodeArgs: [],
  blobRoot: tmpdir(),
}
const target: Target =
  opts.backend === 'postgres' ? await startPostgres(plan, 1) : await startEmbedded(plan)
try {
  const base = target.instances[0]!
  const device = target.committers[0]!
  const manifest = bigManifest(Number(opts.gb), Number(opts['chunk-mib']))
  const baseline = await pollHealth(base, Number(opts['baseline-seconds']) * 1000)
  const t0 = performance.now()
  const init = call(`${base}/files/upload/init`, 'POST', {
    credential: device.credential,
    body: { path: 'big.bin', ...manifest, baseVersion: null },
  })
  const during = await pollHealth(base, init)
  const answer = expectStatus(await init, 201, 'init')
  const initMs = performance.now() - t0
  const p99 = percentile(during, 99)
  process.stdout.write(
    `init-stall on ${target.backend}: ${opts.gb} GB manifest, ${manifest.chunks.length} chunks, ` +
      `${answer.body.missing.length} missing, init took ${(initMs / 1000).toFixed(2)} s\n` +
      `  /healthz alone:       ${summary(baseline)}\n` +
      `  /healthz during init: ${summary(during)}\n` +
      `  p99 ratio during/alone: ${(p99 / percentile(baseline, 99)).toFixed(1)}x; ` +
      `bar p99 <= 50 ms: ${p99 <= 50 ? 'met' : 'NOT met'}\n`,
  )
  if (opts.json) {
    const figures = {
      backend: target.backend,
      chunks: manifest.chunks.length,
      init_s: initMs / 1000,
      healthz_alone_p99_ms: percentile(baseline, 99),
      healthz_during_p99_ms: p99,
    }
    process.stdout.write(`${JSON.stringify(figures)}\n`)
  }
} finally {
  closeClient()
  await target.stop()
}
