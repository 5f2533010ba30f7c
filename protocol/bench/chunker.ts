/**
 * npm run bench:chunker [FILE] [--json]
 * Chunking alone and the full pipeline (chunk + hash + encrypt + chunk id, all cores)
 * against `openssl dgst -sha256` on the same file in the same run: every byte must be
 * hashed at least once, and OpenSSL with SHA-NI is the fastest single-core hash here.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Chunker } from '../chunking/chunker.ts'
import { deriveGearTable } from '../chunking/gear.ts'
import { GiB, MiB } from '../constants.ts'
import { createDomainSecret } from '../crypto/keys.ts'
import { ChunkPipeline } from '../pipeline/encode.ts'
import { benchArgs, fmt, mbps, median, report } from './report.ts'

const RUNS = 3
const { json, positionals } = benchArgs()
const file = positionals[0] ?? (await generated(join(tmpdir(), 'cloudsync-bench-1GiB.bin'), GiB))
const size = statSync(file).size
const secret = createDomainSecret()

async function generated(path: string, bytes: number): Promise<string> {
  if (existsSync(path) && statSync(path).size === bytes) return path
  process.stderr.write(`writing ${bytes / MiB} MiB of random bytes to ${path}\n`)
  const out = createWriteStream(path)
  for (let at = 0; at < bytes; at += 16 * MiB) {
    if (!out.write(randomBytes(Math.min(16 * MiB, bytes - at))))
      await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  )
  return path
}

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    await fn()
    times.push(performance.now() - start)
  }
  return median(times)
}

async function readFile(each: (bytes: Uint8Array) => void) {
  const fh = await open(file)
  const buffer = new Uint8Array(4 * MiB)
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) return
      each(buffer.subarray(0, bytesRead))
    }
  } finally {
    await fh.close()
  }
}

function openssl() {
  const run = spawnSync('openssl', ['dgst', '-sha256', file], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`openssl failed: ${run.stderr || run.error}`)
}

async function pipelineRun(pipeline: ChunkPipeline, plainSha256: boolean) {
  const fh = await open(file)
  try {
    await pipeline.encode(
      { readInto: async (into) => (await fh.read(into, 0, into.length, null)).bytesRead },
      { plainSha256, sizeHint: size },
    )
  } finally {
    await fh.close()
  }
}

openssl() // warms the page cache: every figure below reads the file from memory
const opensslMs = await timed(openssl)
const chunker = new Chunker(deriveGearTable(secret))
const chunkMs = await timed(() => {
  chunker.reset()
  return readFile((bytes) => chunker.push(bytes))
})
const pipeline = new ChunkPipeline({ secret, workers: availableParallelism() })
await pipelineRun(pipeline, false) // starts the worker threads
const pipelineMs = await timed(() => pipelineRun(pipeline, false))
const withShaMs = await timed(() => pipelineRun(pipeline, true))
await pipeline.close()

const figures = {
  file_bytes: size,
  openssl_sha256_mbps: mbps(size, opensslMs),
  chunk_mbps: mbps(size, chunkMs),
  pipeline_mbps: mbps(size, pipelineMs),
  pipeline_with_plain_sha256_mbps: mbps(size, withShaMs),
  ratio: opensslMs / pipelineMs,
  cores: availableParallelism(),
}
report(
  [
    ['file', `${file} (${fmt(size / MiB)} MiB, median of ${RUNS} runs, page cache warm)`],
    ['openssl dgst -sha256', `${fmt(figures.openssl_sha256_mbps)} MB/s  (baseline)`],
    ['chunking alone', `${fmt(figures.chunk_mbps)} MB/s`],
    ['pipeline', `${fmt(figures.pipeline_mbps)} MB/s  on ${figures.cores} cores`],
    ['pipeline + plain file SHA-256', `${fmt(figures.pipeline_with_plain_sha256_mbps)} MB/s`],
    ['ratio pipeline / openssl', `${fmt(figures.ratio, 2)}  (bar >= 0.5, aim 0.7)`],
  ],
  figures,
  json,
)
