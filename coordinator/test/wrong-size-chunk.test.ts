/**
 * Issue 14, item 8: an object of the wrong size under a chunk's id (a PUT cut off by a kill)
 * is not the chunk. Init and complete count it as missing, the uploader sends the chunk
 * again, and the new bytes replace it. Run on the embedded local-disk store and on S3
 * (s3rver), where the bad object is planted behind the coordinator's back.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import S3rver from 's3rver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import { LocalDiskBlobStore } from '../blobs/index.ts'
import { loadConfig } from '../config.ts'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, startApp, type TestApp } from './harness.ts'

interface Backend {
  t: TestApp
  /** Stores `bytes` under `id` as a broken writer would, with no check at all. */
  plant(id: string, bytes: Uint8Array): Promise<void>
  close(): Promise<void>
}

async function localDisk(): Promise<Backend> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudsync-wrong-size-'))
  const blobs = new LocalDiskBlobStore({ directory: dir })
  const t = await startApp({ listen: true, deps: { blobs } })
  return {
    t,
    async plant(id, bytes) {
      await mkdir(dirname(blobs.pathOf(id)), { recursive: true })
      await writeFile(blobs.pathOf(id), bytes)
    },
    async close() {
      await t.close()
      await blobs.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function s3(): Promise<Backend> {
  const bucket = 'cloudsync-wrong-size'
  const dir = await mkdtemp(join(tmpdir(), 'cloudsync-s3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket }],
  })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  const env = {
    S3_BUCKET: bucket,
    S3_ENDPOINT: endpoint,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
  }
  const t = await startApp({ listen: true, config: { s3: loadConfig(env).s3 } })
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  })
  return {
    t,
    async plant(id, bytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: id, Body: bytes }))
    },
    async close() {
      client.destroy()
      await t.close()
      await server.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

for (const [name, open] of [
  ['local disk', localDisk],
  ['S3', s3],
] as const) {
  describe(`a stored chunk of the wrong size, on ${name}`, () => {
    let backend: Backend
    beforeAll(async () => {
      backend = await open()
    })
    afterAll(() => backend?.close())

    it('init counts it missing; the chunk sent again replaces it', async () => {
      const { t, plant } = backend
      const [laptop] = await newAccount(t.app, ['laptop'])
      const file = makeFile([3000, 2000])
      const id = file.manifest.chunks[0]!.id
      const bytes = file.bytes.get(id)!
      // Where this account's upload of the chunk lives (blob keys are per account).
      const key = blobKeyOf(laptop!.accountId, id)
      await plant(key, bytes.subarray(0, 1000))
      const { missing, result } = await upload(laptop!, 'cut.bin', file, null)
      expect(missing).toEqual([0, 1])
      expect(result).toMatchObject({ path: 'cut.bin', version: 1 })
      expect(await t.app.blobs.head(key)).toEqual({ size: bytes.length })
      expect(Buffer.from(await t.app.blobs.get(key)).equals(Buffer.from(bytes))).toBe(true)
    })

    it('complete asks for it again (409) when it appears after init', async () => {
      const { t, plant } = backend
      const [laptop] = await newAccount(t.app, ['laptop'])
      const file = makeFile([2500])
      const id = file.manifest.chunks[0]!.id
      const bytes = file.bytes.get(id)!
      const key = blobKeyOf(laptop!.accountId, id)
      const init = await laptop!.call({
        method: 'POST',
        url: '/files/upload/init',
        payload: { path: 'late.bin', ...file.manifest, baseVersion: null },
      })
      expect(init.statusCode, init.body).toBe(201)
      const { sessionId, uploads } = init.json()
      await plant(key, bytes.subarray(0, 10))
      const complete = () =>
        laptop!.call({ method: 'POST', url: `/files/upload/${sessionId}/complete` })
      const refused = await complete()
      expect(refused.statusCode, refused.body).toBe(409)
      expect(refused.json().error).toMatchObject({
        code: 'INCOMPLETE_UPLOAD',
        details: { missing: [0] },
      })
      const put = await fetch(uploads[0].url, {
        method: 'PUT',
        headers: uploads[0].headers,
        body: bytes,
      })
      expect(put.status).toBe(200)
      const done = await complete()
      expect(done.statusCode, done.body).toBe(200)
      expect(await t.app.blobs.head(key)).toEqual({ size: bytes.length })
    })
  })
}
