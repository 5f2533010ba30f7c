import { randomBytes } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { createDomainSecret } from '../../../protocol/crypto/keys.ts'
import type { Manifest } from '../../../protocol/manifest.ts'
import { sourceFromBytes } from '../../../protocol/pipeline/byte-source.ts'
import { ChunkPipeline, type EncodedChunk } from '../../../protocol/pipeline/encode.ts'
import type { Change } from '../../../protocol/schemas/sync.ts'
import type { PendingMessage } from '../../../protocol/schemas/ws.ts'
import { MemoryFileSystem } from '../../adapters/memory-fs.ts'
import { type ChunkSource, getEach } from '../../chunk-sources/chunk-source.ts'
import { ChunkFetcher } from '../../chunk-sources/fetcher.ts'
import type { TempFile } from '../../ports/file-system.ts'
import { Prefetcher } from '../prefetcher.ts'

const secret = createDomainSecret()
const uploader = '22222222-2222-4222-8222-222222222222'
const session = '33333333-3333-4333-8333-333333333333'

async function encoded(bytes: Uint8Array, domain = secret) {
  const chunks: EncodedChunk[] = []
  const pipeline = new ChunkPipeline({
    secret: domain,
    workers: 0,
    chunking: { minSize: 1024, avgSize: 4096, maxSize: 16384 },
  })
  const { manifest } = await pipeline.encode(sourceFromBytes(bytes), {
    keepCiphertext: true,
    onChunk: (c) => {
      chunks.push(c)
    },
  })
  return { manifest, store: new Map(chunks.map((c) => [c.id, c.ciphertext!])) }
}

/** A swarm that serves from a map, through `tamper` on the way out. */
function swarmOf(
  store: Map<string, Uint8Array>,
  tamper: (id: string, b: Uint8Array) => Uint8Array = (_, b) => b,
): ChunkSource {
  // Copies, as ChunkSource promises: the fetcher releases what it is handed.
  const get = async (id: string) => tamper(id, new Uint8Array(store.get(id)!))
  return { name: 'swarm', get, getMany: (ids, o) => getEach(get, ids, o) }
}

function setup(swarm: ChunkSource, placeAhead = false) {
  const fs = new MemoryFileSystem()
  const fetcher = new ChunkFetcher()
  const logged: string[] = []
  /** Versions handed over for placement ahead of their commit (docs/LAN-FIRST.md). */
  const placed: string[] = []
  const prefetcher = new Prefetcher({
    fs,
    secret,
    swarm,
    fetcher,
    deviceId: '44444444-4444-4444-8444-444444444444',
    log: (_level, message) => logged.push(message),
    ...(placeAhead && {
      place: async (notice: PendingMessage, temp: TempFile) => {
        placed.push(notice.manifest.hash)
        return Boolean(await temp.commit(notice.path, 'absent'))
      },
    }),
  })
  return { fs, fetcher, prefetcher, logged, placed }
}

const pending = (manifest: Manifest): PendingMessage => ({
  type: 'pending',
  sessionId: session,
  path: 'video.mp4',
  deviceId: uploader,
  manifest,
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
})

const commitOf = (manifest: Manifest): Change => ({
  seq: 1,
  kind: 'created',
  fileId: '11111111-1111-4111-8111-111111111111',
  path: 'video.mp4',
  version: 1,
  size: manifest.size,
  hash: manifest.hash,
  chunks: manifest.chunks,
  deviceId: uploader,
  committedAt: new Date().toISOString(),
})

describe('Prefetcher: an upload staged into a temp file ahead of its commit', () => {
  it('fills a temp file the commit adopts whole, and serves its chunks to other peers', async () => {
    const bytes = randomBytes(100_000)
    const { manifest, store } = await encoded(bytes)
    const { fs, fetcher, prefetcher } = setup(swarmOf(store))
    prefetcher.onPending(pending(manifest))
    await prefetcher.settle(commitOf(manifest))
    expect(fetcher.counters.prefetch?.chunks).toBe(store.size)
    // A chunk staged here is served as the very ciphertext the uploader made.
    const first = manifest.chunks[0]!
    expect(Buffer.from((await prefetcher.read(first.id))!)).toEqual(
      Buffer.from(store.get(first.id)!),
    )
    const staged = (await prefetcher.adopt(commitOf(manifest)))!
    expect(staged.assembler.done).toBe(true)
    expect(await staged.temp.commit('video.mp4', 'absent')).toMatchObject({ size: bytes.length })
    expect(Buffer.from(fs.readFile('video.mp4')!)).toEqual(bytes)
    // Adopted once: it is the caller's now, and no longer served from here.
    expect(await prefetcher.adopt(commitOf(manifest))).toBeUndefined()
    expect(await prefetcher.read(first.id)).toBeUndefined()
  })

  it('leaves out chunks a peer sent wrong, for the commit to fetch elsewhere', async () => {
    const { manifest, store } = await encoded(randomBytes(60_000))
    const bad = manifest.chunks[1]!.id
    const liar = swarmOf(store, (id, b) => (id === bad ? b.map((x) => x ^ 1) : b))
    const { fetcher, prefetcher } = setup(liar)
    prefetcher.onPending(pending(manifest))
    await prefetcher.settle(commitOf(manifest))
    expect(fetcher.counters.prefetch?.failures).toBe(1)
    const staged = (await prefetcher.adopt(commitOf(manifest)))!
    expect(staged.assembler.missing()).toEqual([1])
    expect(await prefetcher.read(bad)).toBeUndefined()
    await staged.temp.discard()
  })

  it('places a version only once every chunk is verified: a lying peer gets nothing placed', async () => {
    const bytes = randomBytes(60_000)
    const { manifest, store } = await encoded(bytes)
    const bad = manifest.chunks[1]!.id
    const liar = swarmOf(store, (id, b) => (id === bad ? b.map((x) => x ^ 1) : b))
    const lied = setup(liar, true)
    lied.prefetcher.onPending(pending(manifest))
    await lied.prefetcher.settle(commitOf(manifest))
    expect(lied.placed).toEqual([])
    expect(lied.fs.readFile('video.mp4')).toBeUndefined()
    await lied.prefetcher.close()
    // The same version from an honest peer is placed whole, and is no longer staged.
    const honest = setup(swarmOf(store), true)
    honest.prefetcher.onPending(pending(manifest))
    await honest.prefetcher.settle(commitOf(manifest))
    await vi.waitFor(() => expect(honest.prefetcher.counters.placed).toBe(1))
    expect(honest.placed).toEqual([manifest.hash])
    expect(Buffer.from(honest.fs.readFile('video.mp4')!)).toEqual(bytes)
    expect(await honest.prefetcher.adopt(commitOf(manifest))).toBeUndefined()
  })

  it('stages nothing for a manifest sealed under another secret', async () => {
    const { manifest, store } = await encoded(randomBytes(20_000), createDomainSecret())
    const { fetcher, prefetcher, logged } = setup(swarmOf(store))
    prefetcher.onPending(pending(manifest))
    await prefetcher.settle(commitOf(manifest))
    expect(prefetcher.counters.staged).toBe(0)
    expect(fetcher.counters.prefetch).toBeUndefined()
    expect(logged).toContain('not prefetching an upload')
    expect(await prefetcher.adopt(commitOf(manifest))).toBeUndefined()
  })

  it('drops the staged file when its upload expires, or its commit is applied without it', async () => {
    const { manifest, store } = await encoded(randomBytes(20_000))
    const { prefetcher } = setup(swarmOf(store))
    prefetcher.onPending(pending(manifest))
    await prefetcher.onPendingExpired(session)
    expect(prefetcher.counters.dropped).toBe(1)
    expect(await prefetcher.adopt(commitOf(manifest))).toBeUndefined()

    prefetcher.onPending(pending(manifest))
    await prefetcher.release(commitOf(manifest))
    expect(prefetcher.counters).toMatchObject({ staged: 2, dropped: 2, adopted: 0 })
  })

  it('drops a staging whose upload expired without a notice, freeing its slot', async () => {
    const first = await encoded(randomBytes(20_000))
    const second = await encoded(randomBytes(20_000))
    const { prefetcher } = setup(swarmOf(new Map([...first.store, ...second.store])))
    const expired = {
      ...pending(first.manifest),
      expiresAt: new Date(Date.now() - 1).toISOString(),
    }
    prefetcher.onPending(expired)
    await prefetcher.settle(commitOf(first.manifest))
    prefetcher.onPending({ ...pending(second.manifest), sessionId: crypto.randomUUID() })
    await prefetcher.settle(commitOf(second.manifest))
    expect(prefetcher.counters).toMatchObject({ staged: 2, dropped: 1 })
    expect(await prefetcher.adopt(commitOf(first.manifest))).toBeUndefined()
    expect((await prefetcher.adopt(commitOf(second.manifest)))?.assembler.done).toBe(true)
  })

  it('refuses a commit whose chunk list differs from what was staged', async () => {
    const { manifest, store } = await encoded(randomBytes(20_000))
    const { prefetcher } = setup(swarmOf(store))
    prefetcher.onPending(pending(manifest))
    const altered = { ...commitOf(manifest), chunks: manifest.chunks.slice(1) }
    expect(await prefetcher.adopt(altered)).toBeUndefined()
  })
})
