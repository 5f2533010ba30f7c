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
})
