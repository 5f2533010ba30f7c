/**
 * The contract every BlobStore meets, run against each implementation by a small test file
 * (automerge-repo's shared adapter suites). Presigned URLs are exercised with real `fetch`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import { MAX_BLOB_BYTES } from '../blob-checks.ts'
import type { BlobStore } from '../blob-store.ts'

export interface BlobStoreFixture {
  store: BlobStore
  teardown(): Promise<void>
}

export interface BlobStoreContractOptions {
  /**
   * Whether the server behind presigned PUT URLs refuses bytes that do not match the key.
   * Real S3 does (signed checksum header); s3rver does not, so its suite checks the header
   * is signed instead.
   */
  presignedPutVerifiesBytes: boolean
}

/** Fresh random bytes and their chunk id: every test uses its own keys. */
export function chunk(size = 1000): { key: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(randomBytes(size))
  return { key: createHash('sha256').update(bytes).digest('hex'), bytes }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

export function runBlobStoreContract(
  name: string,
  setup: () => Promise<BlobStoreFixture>,
  options: BlobStoreContractOptions,
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture
    let store: BlobStore
    beforeAll(async () => {
      fixture = await setup()
      store = fixture.store
    })
    afterAll(async () => {
      await fixture?.teardown()
    })

    it('is ready', async () => {
      await expect(store.check()).resolves.toBeUndefined()
    })

    it('round-trips put, head and get', async () => {
      const { key, bytes } = chunk(3000)
      await store.put(key, bytes)
      expect(await store.head(key)).toEqual({ size: 3000 })
      expect(Buffer.from(await store.get(key)).equals(Buffer.from(bytes))).toBe(true)
    })

    it('accepts the same chunk twice (dedup makes repeats normal)', async () => {
      const { key, bytes } = chunk()
      await store.put(key, bytes)
      await store.put(key, bytes)
      expect(await store.head(key)).toEqual({ size: bytes.byteLength })
    })

    it('rejects bytes that do not hash to the key and stores nothing', async () => {
      const { key } = chunk()
      const err = await rejection(store.put(key, chunk().bytes))
      expect(isCloudsyncError(err, 'CHUNK_CORRUPT')).toBe(true)
      expect(await store.head(key)).toBeNull()
    })

    it('refuses keys that are not lowercase hex SHA-256', async () => {
      for (const bad of ['../../etc/passwd', 'A'.repeat(64), 'ab']) {
        expect(isCloudsyncError(await rejection(store.head(bad)), 'INVALID_INPUT')).toBe(true)
      }
    })

    it('answers null from head and NOT_FOUND from get for a missing key', async () => {
      const { key } = chunk()
      expect(await store.head(key)).toBeNull()
      expect(isCloudsyncError(await rejection(store.get(key)), 'NOT_FOUND')).toBe(true)
    })

    it('reads a byte range, and refuses ranges outside the blob or of a missing key', async () => {
      const { key, bytes } = chunk(4000)
      await store.put(key, bytes)
      const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))
      expect(same(await store.getRange(key, 1234, 100), bytes.subarray(1234, 1334))).toBe(true)
      expect(same(await store.getRange(key, 0, 4000), bytes)).toBe(true)
      expect(same(await store.getRange(key, 3999, 1), bytes.subarray(3999))).toBe(true)
      for (const [offset, length] of [
        [3990, 20],
        [4000, 1],
        [5000, 10],
        [0, 0],
        [-1, 5],
      ] as const) {
        const err = await rejection(store.getRange(key, offset, length))
        expect(isCloudsyncError(err, 'INVALID_INPUT'), `${offset}+${length}: ${err}`).toBe(true)
      }
      const missing = await rejection(store.getRange(chunk().key, 0, 10))
      expect(isCloudsyncError(missing, 'NOT_FOUND')).toBe(true)
    })

    it('deletes, and deleting a missing key is not an error', async () => {
      const { key, bytes } = chunk()
      await store.put(key, bytes)
      await store.delete(key)
      expect(await store.head(key)).toBeNull()
      await expect(store.delete(key)).resolves.toBeUndefined()
    })

    it('moves bytes through a presigned PUT and a presigned GET over HTTP', async () => {
      const { key, bytes } = chunk(5000)
      const before = Date.now()
      const put = await store.presignPut(key, { size: bytes.byteLength, expiresInSeconds: 60 })
      expect(put.method).toBe('PUT')
      expect(put.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 59_000)
      const uploaded = await fetch(put.url, { method: 'PUT', headers: put.headers, body: bytes })
      expect(uploaded.status).toBe(200)
      expect(await store.head(key)).toEqual({ size: 5000 })

      const get = await store.presignGet(key, { expiresInSeconds: 60 })
      const downloaded = await fetch(get.url)
      expect(downloaded.status).toBe(200)
      expect(Buffer.from(await downloaded.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)
    })

    it('answers 404 to a presigned GET of a missing key', async () => {
      const get = await store.presignGet(chunk().key, { expiresInSeconds: 60 })
      const res = await fetch(get.url)
      expect(res.status).toBe(404)
      await res.arrayBuffer()
    })

    it.skipIf(!options.presignedPutVerifiesBytes)(
      'refuses wrong bytes sent to a presigned PUT and stores nothing',
      async () => {
        const { key, bytes } = chunk()
        const wrong = new Uint8Array(bytes)
        wrong[0] = (wrong[0]! + 1) % 256
        const put = await store.presignPut(key, { size: bytes.byteLength, expiresInSeconds: 60 })
        const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body: wrong })
        expect(res.status).toBeGreaterThanOrEqual(400)
        expect(res.status).toBeLessThan(500)
        await res.arrayBuffer()
        expect(await store.head(key)).toBeNull()
      },
    )

    it('refuses to presign a PUT larger than the largest chunk', async () => {
      const err = await rejection(
        store.presignPut(chunk().key, { size: MAX_BLOB_BYTES + 1, expiresInSeconds: 60 }),
      )
      expect(isCloudsyncError(err, 'TOO_LARGE')).toBe(true)
    })
  })
}
