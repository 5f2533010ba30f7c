/**
 * A download cut short resumes from the chunks its part file already holds, each checked
 * against the manifest before it counts (issue 14, item 9). Real files on disk.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDomainSecret } from '../../../protocol/crypto/keys.ts'
import { sourceFromBytes } from '../../../protocol/pipeline/byte-source.ts'
import { ChunkPipeline, type EncodedChunk } from '../../../protocol/pipeline/encode.ts'
import type { Change } from '../../../protocol/schemas/sync.ts'
import { NodeFileSystem } from '../../adapters/node-fs.ts'
import { type ChunkSource, getEach } from '../../chunk-sources/chunk-source.ts'
import { ChunkFetcher } from '../../chunk-sources/fetcher.ts'
import { syncIndexOf } from '../../daemon/index-port.ts'
import { LocalIndex } from '../../local-index/local-index.ts'
import { ChangeApplier } from '../applier.ts'
import { eventually } from './two-devices.ts'

const secret = createDomainSecret()
const CHUNKING = { minSize: 16 * 1024, avgSize: 32 * 1024, maxSize: 64 * 1024 }

let dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  dirs = []
})

async function versionOf(
  content: Uint8Array,
): Promise<{ change: Change; store: Map<string, Uint8Array> }> {
  const chunks: EncodedChunk[] = []
  const pipeline = new ChunkPipeline({ secret, workers: 0, chunking: CHUNKING })
  try {
    const { manifest } = await pipeline.encode(sourceFromBytes(content), {
      keepCiphertext: true,
      onChunk: (c) => {
        chunks.push(c)
      },
    })
    const change: Change = {
      seq: 1,
      kind: 'created',
      fileId: '11111111-1111-4111-8111-111111111111',
      path: 'big/video.bin',
      version: 1,
      size: manifest.size,
      hash: manifest.hash,
      chunks: manifest.chunks,
      deviceId: '22222222-2222-4222-8222-222222222222',
      committedAt: new Date().toISOString(),
    }
    return { change, store: new Map(chunks.map((c) => [c.id, new Uint8Array(c.ciphertext!)])) }
  } finally {
    await pipeline.close()
  }
}

/** A cloud stand-in that counts what it hands out, and after `limit` chunks never answers. */
function countingSource(store: Map<string, Uint8Array>, limit = Number.POSITIVE_INFINITY) {
  const served: string[] = []
  const get = async (id: string) => {
    if (served.length >= limit) return new Promise<Uint8Array>(() => {})
    served.push(id)
    // A copy, as ChunkSource promises: the fetcher releases what it is handed.
    return new Uint8Array(store.get(id)!)
  }
  const source: ChunkSource = {
    name: 'cloud',
    get,
    getMany: (ids, options) => getEach(get, ids, options),
  }
  return { source, served }
}

/** The daemon's start on a folder: its file system, leftovers swept, an applier. */
async function daemonOn(root: string, source: ChunkSource) {
  const fs = await NodeFileSystem.open({ root })
  await fs.removeLeftoverTemps()
  const index = syncIndexOf(new LocalIndex(':memory:'), Date.now)
  const applier = new ChangeApplier({
    fs,
    index,
    secret,
    fetcher: new ChunkFetcher(),
    sourcesFor: () => [source],
    log: () => {},
  })
  return { fs, applier }
}

/** Whether the part file holds chunks 0..k-1 as they should be (the first writes landed). */
async function partHolds(root: string, change: Change, content: Uint8Array, k: number) {
  const part = await readFile(join(root, '.cloudsync', 'tmp', `${change.hash}.cloudsync-part`))
  const end = change.chunks![k - 1]!
  return (
    Buffer.compare(
      part.subarray(0, end.offset + end.size),
      content.subarray(0, end.offset + end.size),
    ) === 0
  )
}

describe('a download cut short', () => {
  it('resumes from the verified chunks on disk, fetches only the rest, and distrusts a corrupted one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cloudsync-resume-'))
    dirs.push(root)
    const content = Uint8Array.from(randomBytes(1024 * 1024))
    const { change, store } = await versionOf(content)
    const n = change.chunks!.length
    expect(n).toBeGreaterThan(10)
    const k = 6

    // The first run gets k chunks, then its source stalls; the process dies there.
    const first = countingSource(store, k)
    const dying = await daemonOn(root, first.source)
    void dying.applier.apply(change).catch(() => {})
    await eventually(() => partHolds(root, change, content, k))
    expect(first.served).toHaveLength(k)

    // Chunk 1 is damaged on disk while the device is down.
    const damaged = change.chunks![1]!
    const fh = await open(join(root, '.cloudsync', 'tmp', `${change.hash}.cloudsync-part`), 'r+')
    await fh.write(Buffer.from([0xff ^ content[damaged.offset + 7]!]), 0, 1, damaged.offset + 7)
    await fh.close()

    const second = countingSource(store)
    const restarted = await daemonOn(root, second.source)
    expect(await restarted.applier.apply(change)).toBe('written')
    const onDisk = await readFile(join(root, 'big', 'video.bin'))
    expect(Buffer.compare(onDisk, content)).toBe(0)
    // The chunks the first run never got, and the damaged one again: nothing else.
    const expected = [damaged.id, ...change.chunks!.slice(k).map((c) => c.id)]
    expect(second.served.sort()).toEqual(expected.sort())
    expect(second.served).toHaveLength(n - k + 1)
    // The part file became the file: nothing is left behind.
    await expect(
      readFile(join(root, '.cloudsync', 'tmp', `${change.hash}.cloudsync-part`)),
    ).rejects.toThrow(/ENOENT/)
  }, 60_000)

  it('keeps part files across a start for a day, then sweeps them', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cloudsync-resume-'))
    dirs.push(root)
    const fs = await NodeFileSystem.open({ root })
    const tmp = join(root, '.cloudsync', 'tmp')
    await writeFile(join(tmp, `${'a'.repeat(64)}.cloudsync-part`), 'fresh')
    await writeFile(join(tmp, `${'b'.repeat(64)}.cloudsync-part`), 'stale')
    await writeFile(join(tmp, 'x.cloudsync-tmp'), 'temp')
    const now = Date.now()
    const twoDaysAgo = new Date(now - 2 * 24 * 60 * 60 * 1000)
    await utimes(join(tmp, `${'b'.repeat(64)}.cloudsync-part`), twoDaysAgo, twoDaysAgo)
    expect(await fs.removeLeftoverTemps(now)).toBe(2)
    expect(await readdir(tmp)).toEqual([`${'a'.repeat(64)}.cloudsync-part`])
    await expect(fs.openPartial('../escape', 10)).rejects.toThrow(/not a content hash/)
  })
})
