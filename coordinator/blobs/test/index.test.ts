import { describe, expect, it } from 'vitest'
import { blobStoreConfigFromEnv, createBlobStore, isServedBlobStore } from '../index.ts'

describe('createBlobStore', () => {
  it('is the served local-disk store without an S3 bucket', async () => {
    const config = blobStoreConfigFromEnv({ PUBLIC_URL: 'http://127.0.0.1:8080' }, '/tmp/blobs')
    const store = createBlobStore(config)
    expect(store.kind).toBe('local-disk')
    expect(isServedBlobStore(store)).toBe(true)
    const key = 'a'.repeat(64)
    const get = await store.presignGet(key, { expiresInSeconds: 5 })
    expect(get.url.startsWith(`http://127.0.0.1:8080/blobs/${key}?`)).toBe(true)
  })

  it('is S3 when S3_BUCKET is set, with the other S3_* settings', async () => {
    const config = blobStoreConfigFromEnv(
      {
        S3_BUCKET: 'chunks',
        S3_ENDPOINT: 'http://127.0.0.1:9000',
        S3_FORCE_PATH_STYLE: 'true',
        S3_KEY_PREFIX: 'c/',
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: 'secret',
      },
      '/tmp/blobs',
    )
    expect(config.s3).toMatchObject({
      bucket: 'chunks',
      region: 'us-east-1',
      forcePathStyle: true,
      keyPrefix: 'c/',
      createBucket: false,
    })
    const store = createBlobStore(config)
    expect(store.kind).toBe('s3')
    expect(isServedBlobStore(store)).toBe(false)
    // Presigning is local computation: the URL names the endpoint, bucket and prefix.
    const get = await store.presignGet('b'.repeat(64), { expiresInSeconds: 5 })
    expect(get.url.startsWith(`http://127.0.0.1:9000/chunks/c/${'b'.repeat(64)}?`)).toBe(true)
    await store.close()
  })
})
