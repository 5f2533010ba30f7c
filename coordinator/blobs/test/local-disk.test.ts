import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LocalDiskBlobStore } from '../local-disk.ts'
import { chunk, runBlobStoreContract } from './blob-store.contract.ts'
import { startDataPlane } from './data-plane.ts'

runBlobStoreContract(
  'local-disk',
  async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cloudsync-blobs-'))
    const store = new LocalDiskBlobStore({ directory })
    const plane = await startDataPlane(store)
    return {
      store,
      teardown: async () => {
        await plane.close()
        await store.close()
        await rm(directory, { recursive: true, force: true })
      },
    }
  },
  { presignedPutVerifiesBytes: true },
)

describe('local-disk layout', () => {
  it('writes again after its directories were removed behind its back', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cloudsync-blobs-'))
    try {
      const store = new LocalDiskBlobStore({ directory })
      const first = chunk()
      await store.put(first.key, first.bytes)
      // Everything goes, the temp and fan-out directories it has already made included.
      for (const entry of await readdir(directory)) {
        await rm(join(directory, entry), { recursive: true, force: true })
      }
      await store.put(first.key, first.bytes)
      expect(await store.head(first.key)).toEqual({ size: first.bytes.byteLength })
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('fans chunks out by key prefix and leaves no temp file behind after a write', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cloudsync-blobs-'))
    try {
      const store = new LocalDiskBlobStore({ directory })
      const { key, bytes } = chunk()
      await store.put(key, bytes)
      expect(store.pathOf(key)).toBe(join(directory, key.slice(0, 2), key.slice(2, 4), key))
      expect(await readdir(join(directory, key.slice(0, 2), key.slice(2, 4)))).toEqual([key])
      expect(await readdir(join(directory, 'tmp'))).toEqual([])
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('receives small and large bodies, and a body that is not its key leaves nothing', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cloudsync-blobs-'))
    async function* pieces(bytes: Uint8Array, size = 64 * 1024) {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
    }
    try {
      const store = new LocalDiskBlobStore({ directory })
      // Both sides of the small-body path (written at once) and the batched one.
      for (const size of [4096, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024]) {
        const { key, bytes } = chunk(size)
        await store.receive(key, pieces(bytes), size)
        expect(Buffer.from(await store.get(key)).equals(Buffer.from(bytes))).toBe(true)
        const wrong = chunk(size)
        const other = chunk(size).key
        await expect(store.receive(other, pieces(wrong.bytes), size)).rejects.toMatchObject({
          code: 'CHUNK_CORRUPT',
        })
        expect(await store.head(other)).toBeNull()
      }
      expect(await readdir(join(directory, 'tmp'))).toEqual([])
      // Pieces that are buffers of their own (socket reads) are released once written,
      // not left for the collector; the blob is whole all the same.
      const large = chunk(3 * 1024 * 1024)
      const own = [...Array(48)].map((_, i) =>
        Buffer.from(large.bytes.subarray(i * 64 * 1024, (i + 1) * 64 * 1024)),
      )
      async function* handOver() {
        yield* own
      }
      await store.receive(large.key, handOver(), large.bytes.length)
      expect(own.every((piece) => piece.buffer.detached)).toBe(true)
      expect(Buffer.from(await store.get(large.key)).equals(Buffer.from(large.bytes))).toBe(true)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
