/**
 * npm run bench:bigfile [-- --json] [--gib N] [--sparse-gib N] [--data-dir PARENT]
 * `cloudsync put` of an 8 GiB file of random bytes to the embedded coordinator (MB/s, peak
 * RSS of the put process), then `put` of a 50 GiB sparse file (`truncate -s 50G`: every
 * chunk is zeros, so it dedups to one chunk and its blobs are tiny), checked to have a
 * valid manifest through `GET /files/by-path`, within the same memory bound.
 * Everything runs in a fresh temp dir (the coordinator's data too: its blob store gets the
 * 8 GiB), removed at the end, failure or not. Bar (issue 4): peak RSS <= 300 MB.
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { benchArgs, fmt, mbps, report } from '../../protocol/bench/report.ts'
import { GiB, MiB } from '../../protocol/constants.ts'
import { validateManifest } from '../../protocol/manifest.ts'
import { verifyManifestHash } from '../../protocol/pipeline/assemble.ts'
import { HttpCoordinator } from '../adapters/http-coordinator.ts'
import { loadDeviceState, secretOf } from '../daemon/device-state.ts'
import { freeBytes, RssSampler, Workspace } from './harness.ts'

const args = benchArgs({
  gib: { type: 'string' },
  'sparse-gib': { type: 'string' },
  'data-dir': { type: 'string' },
})
const { json } = args
const values = args.values as { gib?: string; 'sparse-gib'?: string; 'data-dir'?: string }
const SIZE = Number(values.gib ?? 8) * GiB
const SPARSE = Number(values['sparse-gib'] ?? 50) * GiB
const PARENT = values['data-dir'] ?? '/tmp'
const PUT_TIMEOUT_MS = 30 * 60_000
const log = (line: string) => process.stderr.write(`${line}\n`)

const ws = new Workspace()
await ws.run('bench:bigfile', main)

async function main() {
  const tmp = await ws.tempDir(PARENT, 'cloudsync-bench-bigfile-')
  // The random file plus its blobs in the coordinator's store, with room to spare.
  const need = 2 * SIZE + 2 * GiB
  const free = await freeBytes(tmp)
  if (free < need) {
    throw new Error(
      `need ${fmt(need / GiB, 1)} GiB free under ${PARENT}, have ${fmt(free / GiB, 1)}: pass --data-dir`,
    )
  }
  const data = join(tmp, 'coordinator')
  log(`coordinator and device in ${tmp}`)
  const coordinator = await ws.coordinator(data)
  const token = await ws.cli([
    'account',
    'create',
    '--coordinator',
    coordinator.url,
    '--data-dir',
    data,
  ])
  const dir = join(tmp, 'device')
  await ws.cli(['link', '--coordinator', coordinator.url, '--token', token, '--dir', dir])

  const random = join(tmp, 'random.bin')
  log(`writing ${SIZE / GiB} GiB of random bytes`)
  await writeRandom(random, SIZE)
  const big = await put(random, 'random.bin', dir)
  await rm(random, { force: true })
  log(`random: ${fmt(big.ms / 1000, 1)} s, ${fmt(mbps(SIZE, big.ms))} MB/s, ${fmt(big.rss)} MB`)

  const sparse = join(tmp, 'sparse.bin')
  const fh = await open(sparse, 'w')
  await fh.truncate(SPARSE)
  await fh.close()
  const hole = await put(sparse, 'sparse.bin', dir)
  const sparseOk = await checkManifest(dir, 'sparse.bin', SPARSE)
  log(
    `sparse: ${fmt(hole.ms / 1000, 1)} s, ${fmt(hole.rss)} MB, manifest ${sparseOk ? 'ok' : 'BAD'}`,
  )
  const randomOk = await checkManifest(dir, 'random.bin', SIZE)
  if (!randomOk) throw new Error('the random file has no valid manifest after its put')

  const peak = Math.max(big.rss, hole.rss)
  report(
    [
      [
        `put ${SIZE / GiB} GiB random`,
        `${fmt(big.ms / 1000, 1)} s, ${fmt(mbps(SIZE, big.ms))} MB/s`,
      ],
      ['  peak RSS of put', `${fmt(big.rss)} MB (bar <= 300)`],
      [
        `put ${SPARSE / GiB} GiB sparse`,
        `${fmt(hole.ms / 1000, 1)} s, ${fmt(mbps(SPARSE, hole.ms))} MB/s, manifest ${sparseOk ? 'valid' : 'INVALID'}`,
      ],
      ['  peak RSS of put', `${fmt(hole.rss)} MB (bar <= 300)`],
    ],
    {
      put_mbps: Math.round(mbps(SIZE, big.ms) * 10) / 10,
      peak_rss_mb: Math.round(peak * 10) / 10,
      sparse_50g_ok: sparseOk && hole.rss <= 300,
    },
    json,
  )
}

/** `cloudsync put FILE REMOTE --dir DIR` in its own process: wall time and peak RSS. */
async function put(
  file: string,
  remote: string,
  dir: string,
): Promise<{ ms: number; rss: number }> {
  const start = performance.now()
  const proc = ws.spawn(['put', file, remote, '--dir', dir])
  const sampler = new RssSampler([proc.pid], 50)
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), PUT_TIMEOUT_MS)
  const code = await proc.exited.finally(() => clearTimeout(timer))
  const ms = performance.now() - start
  const rss = sampler.stop().get(proc.pid) ?? 0
  if (code !== 0)
    throw new Error(`put ${remote} exited with ${code}: ${proc.stderr().slice(-2000)}`)
  return { ms, rss }
}

/**
 * The committed file as the coordinator serves it (`GET /files/by-path`): the manifest
 * passes the protocol's validation, covers exactly `size` bytes and its hash matches its
 * chunks under the account's secret.
 */
async function checkManifest(dir: string, remote: string, size: number): Promise<boolean> {
  const state = await loadDeviceState(join(dir, '.cloudsync'))
  const api = new HttpCoordinator({ baseUrl: state.coordinatorUrl, credential: state.credential })
  try {
    const meta = await api.byPath(remote)
    const manifest = { size: meta.size, hash: meta.hash, chunks: meta.chunks }
    validateManifest(manifest)
    verifyManifestHash(manifest, secretOf(state))
    let offset = 0
    for (const c of manifest.chunks) {
      if (c.offset !== offset) return false
      offset += c.size
    }
    return !meta.deleted && meta.size === size && offset === size
  } catch (err) {
    log(`${remote}: ${(err as Error).message}`)
    return false
  }
}

/** Random bytes fast: AES-256-CTR over zeros under a random key (~GB/s, incompressible). */
async function writeRandom(path: string, bytes: number): Promise<void> {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16))
  const zeros = Buffer.alloc(16 * MiB)
  const out = createWriteStream(path)
  for (let at = 0; at < bytes; at += zeros.length) {
    const piece = cipher.update(zeros.subarray(0, Math.min(zeros.length, bytes - at)))
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  )
}
