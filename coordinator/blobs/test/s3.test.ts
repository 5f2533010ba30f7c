/**
 * The S3 store against s3rver, a local S3-compatible server. s3rver neither checks
 * signatures nor verifies `x-amz-checksum-sha256` (docs/DESIGN.md "Two modes, one code path"), so here we check that the
 * checksum is a signed header of the presigned PUT; signature and expiry tampering are
 * tested on the local store (local-route.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import { chunkIdToBase64 } from '../blob-checks.ts'
import { createS3BlobStore, type S3BlobStoreConfig } from '../s3.ts'
import { chunk, runBlobStoreContract } from './blob-store.contract.ts'

interface S3Server {
  config: Omit<S3BlobStoreConfig, 'bucket'>
  stop(): Promise<void>
}

/** s3rver on 127.0.0.1, a free port and a fresh directory; its built-in key is S3RVER. */
async function startS3rver(): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'cloudsync-s3rver-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true })
  const { port } = await server.run()
  return {
    config: {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    },
    stop: async () => {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}

runBlobStoreContract(
  's3 (s3rver)',
  async () => {
    const server = await startS3rver()
    const store = createS3BlobStore({
      ...server.config,
      bucket: 'cloudsync-contract',
      keyPrefix: 'chunks/',
      createBucket: true,
    })
    // Creates the bucket, which the contract's first test then finds ready.
    await store.check()
    return {
      store,
      teardown: async () => {
        await store.close()
        await server.stop()
      },
    }
  },
  { presignedPutVerifiesBytes: false },
)

describe('s3 store specifics', () => {
  let server: S3Server
  beforeAll(async () => {
    server = await startS3rver()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('signs the SHA-256 checksum and the length into a presigned PUT', async () => {
    const store = createS3BlobStore({ ...server.config, bucket: 'signed-headers' })
    const { key, bytes } = chunk()
    const put = await store.presignPut(key, { size: bytes.byteLength, expiresInSeconds: 60 })
    expect(put.headers['x-amz-checksum-sha256']).toBe(chunkIdToBase64(key))
    const signed = new URL(put.url).searchParams.get('X-Amz-SignedHeaders')?.split(';')
    expect(signed).toEqual(expect.arrayContaining(['x-amz-checksum-sha256', 'content-length']))
    // The checksum must be a header S3 compares with the body, not a hoisted query value.
    expect(new URL(put.url).searchParams.has('x-amz-checksum-sha256')).toBe(false)
    await store.close()
  })

  it('is not ready when the bucket is missing and it was not told to create it', async () => {
    const store = createS3BlobStore({ ...server.config, bucket: 'never-created' })
    const err = await store.check().catch((e: unknown) => e)
    expect(isCloudsyncError(err, 'BUSY')).toBe(true)
    expect((err as Error).message).toContain('never-created')
    await store.close()
  })

  it('keeps objects under the key prefix', async () => {
    const prefixed = createS3BlobStore({
      ...server.config,
      bucket: 'prefixes',
      keyPrefix: 'a/',
      createBucket: true,
    })
    const other = createS3BlobStore({ ...server.config, bucket: 'prefixes', keyPrefix: 'b/' })
    await prefixed.check()
    const { key, bytes } = chunk()
    await prefixed.put(key, bytes)
    expect(await prefixed.head(key)).toEqual({ size: bytes.byteLength })
    expect(await other.head(key)).toBeNull()
    await prefixed.close()
    await other.close()
  })
})
