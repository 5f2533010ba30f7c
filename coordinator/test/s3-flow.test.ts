/**
 * The app configured for S3 (from the same environment variables an operator sets),
 * against s3rver on 127.0.0.1: chunks go straight to the object store through presigned
 * PUTs and come back through presigned GETs; the coordinator carries no bytes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, s3rverConfig, startApp, type TestApp } from './harness.ts'

const BUCKET = 'cloudsync-app'
let s3: S3rver
let s3Dir: string
let endpoint: string
let t: TestApp

beforeAll(async () => {
  s3Dir = await mkdtemp(join(tmpdir(), 'cloudsync-s3rver-'))
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: s3Dir,
    silent: true,
    configureBuckets: [{ name: BUCKET }],
  })
  const { port } = await s3.run()
  endpoint = `http://127.0.0.1:${port}`
  t = await startApp({ listen: true, config: { s3: s3rverConfig(port, BUCKET) } })
})
afterAll(async () => {
  await t?.close()
  await s3?.close()
  if (s3Dir) await rm(s3Dir, { recursive: true, force: true })
})

it('uploads through presigned S3 PUTs and downloads through presigned S3 GETs', async () => {
  expect(t.app.blobs.constructor.name).toBe('S3BlobStore')
  const [laptop, phone] = await newAccount(t.app, ['laptop', 'phone'])
  const file = makeFile([4096, 1000])

  const init = await laptop!.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: { path: 'photos/cat.jpg', ...file.manifest, baseVersion: null },
  })
  const urls: string[] = init.json().uploads.map((u: { url: string }) => u.url)
  expect(urls).toHaveLength(2)
  for (const url of urls) expect(url.startsWith(`${endpoint}/${BUCKET}/`)).toBe(true)

  const { result, missing } = await upload(laptop!, 'photos/cat.jpg', file, null)
  expect(missing).toEqual([0, 1])
  expect(result).toMatchObject({ path: 'photos/cat.jpg', version: 1, state: 'committed' })

  const dl = await phone!.call({ method: 'GET', url: `/files/${result.fileId}/download` })
  expect(dl.statusCode, dl.body).toBe(200)
  for (const chunk of dl.json().chunks as { id: string; url: string }[]) {
    expect(chunk.url.startsWith(`${endpoint}/${BUCKET}/`)).toBe(true)
    const res = await fetch(chunk.url)
    expect(res.status).toBe(200)
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(bytes.equals(Buffer.from(file.bytes.get(chunk.id)!))).toBe(true)
  }

  // The bytes are in the bucket now: the same chunks again need no upload at all.
  const again = await upload(phone!, 'photos/cat-copy.jpg', file, null)
  expect(again.missing).toEqual([])
})
