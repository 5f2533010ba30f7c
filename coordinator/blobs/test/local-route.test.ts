/**
 * The embedded data plane's refusals: each is a clear 4xx `{error:{code,message}}` and
 * writes nothing (neither the chunk nor a stray temp file).
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalDiskBlobStore } from '../local-disk.ts'
import { blobRoute } from '../local-route.ts'
import { UrlSigner } from '../local-signing.ts'
import { chunk } from './blob-store.contract.ts'
import { startDataPlane } from './data-plane.ts'

const secret = 'route-test-secret-0123456789'

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code
}
const publicUrl = 'http://127.0.0.1:9'

describe('local data-plane route', () => {
  let directory: string
  let store: LocalDiskBlobStore
  let app: FastifyInstance

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cloudsync-route-'))
    store = new LocalDiskBlobStore({ directory, secret, publicUrl })
    app = Fastify()
    await app.register(blobRoute, { store })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    await rm(directory, { recursive: true, force: true })
  })

  /** Path and query of a signed URL, for inject. */
  const pathOf = (url: string) => url.slice(publicUrl.length)

  async function put(url: string, body: Uint8Array, headers: Record<string, string> = {}) {
    return app.inject({
      method: 'PUT',
      url: pathOf(url),
      headers: { 'content-type': 'application/octet-stream', ...headers },
      payload: Buffer.from(body),
    })
  }

  async function expectNothingWritten(key: string) {
    expect(await store.head(key)).toBeNull()
    const temp = await readdir(join(directory, 'tmp')).catch(() => [])
    expect(temp).toEqual([])
  }

  async function signedPut(key: string, size: number) {
    return (await store.presignPut(key, { size, expiresInSeconds: 60 })).url
  }

  it('stores a streamed PUT and serves it back on GET', async () => {
    const { key, bytes } = chunk(1024 * 1024 + 7)
    expect((await put(await signedPut(key, bytes.byteLength), bytes)).statusCode).toBe(200)
    const get = await store.presignGet(key, { expiresInSeconds: 60 })
    const res = await app.inject({ method: 'GET', url: pathOf(get.url) })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('application/octet-stream')
    expect(res.rawPayload.equals(Buffer.from(bytes))).toBe(true)
  })

  it('treats any content type as bytes, JSON included', async () => {
    const bytes = new TextEncoder().encode('{"not":"parsed"}')
    const key = createHash('sha256').update(bytes).digest('hex')
    const url = await signedPut(key, bytes.byteLength)
    const res = await put(url, bytes, { 'content-type': 'application/json' })
    expect(res.statusCode).toBe(200)
    expect(Buffer.from(await store.get(key)).toString()).toBe('{"not":"parsed"}')
  })

  it('refuses a tampered signature', async () => {
    const { key, bytes } = chunk()
    const url = new URL(await signedPut(key, bytes.byteLength))
    const sig = url.searchParams.get('sig')!
    url.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`)
    const res = await put(url.href, bytes)
    expect(res.statusCode).toBe(403)
    expect(res.json()).toEqual({ error: { code: 'BAD_SIGNATURE', message: expect.any(String) } })
    await expectNothingWritten(key)
  })

  it('refuses an expired URL', async () => {
    const { key, bytes } = chunk()
    const past = new UrlSigner({ secret, publicUrl, now: () => Date.now() - 3_600_000 })
    const { url } = past.sign('PUT', key, { size: bytes.byteLength, expiresInSeconds: 60 })
    const res = await put(url, bytes)
    expect(res.statusCode).toBe(403)
    expect(res.json().error).toMatchObject({
      code: 'BAD_SIGNATURE',
      message: 'Signed URL has expired',
    })
    await expectNothingWritten(key)
  })

  it('refuses a URL signed for another key', async () => {
    const mine = chunk()
    const other = chunk()
    const url = (await signedPut(other.key, other.bytes.byteLength)).replace(other.key, mine.key)
    const res = await put(url, mine.bytes)
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('BAD_SIGNATURE')
    await expectNothingWritten(mine.key)
    await expectNothingWritten(other.key)
  })

  it('refuses a GET URL used for a PUT, and a PUT URL used for a GET', async () => {
    const { key, bytes } = chunk()
    const get = await store.presignGet(key, { expiresInSeconds: 60 })
    const res = await put(`${get.url}&size=${bytes.byteLength}`, bytes)
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('BAD_SIGNATURE')
    await expectNothingWritten(key)

    await store.put(key, bytes)
    const asGet = await app.inject({
      method: 'GET',
      url: pathOf(await signedPut(key, bytes.byteLength)),
    })
    expect(asGet.statusCode).toBe(403)
  })

  it('refuses a body larger than the signed size with 413', async () => {
    const { key, bytes } = chunk(100)
    const res = await put(await signedPut(key, 99), bytes)
    expect(res.statusCode).toBe(413)
    expect(res.json().error.code).toBe('TOO_LARGE')
    await expectNothingWritten(key)
  })

  it('refuses a body shorter than the signed size with 422', async () => {
    const { key, bytes } = chunk(100)
    const res = await put(await signedPut(key, 100), bytes.subarray(0, 60))
    expect(res.statusCode).toBe(422)
    expect(res.json().error.code).toBe('CHUNK_CORRUPT')
    await expectNothingWritten(key)
  })

  it('refuses bytes of the right size that do not hash to the key, after streaming them', async () => {
    const { key, bytes } = chunk(200_000)
    const wrong = new Uint8Array(bytes)
    wrong[123_456] = (wrong[123_456]! + 1) % 256
    const res = await put(await signedPut(key, bytes.byteLength), wrong)
    expect(res.statusCode).toBe(422)
    expect(res.json().error).toMatchObject({
      code: 'CHUNK_CORRUPT',
      message: expect.stringContaining(key),
    })
    await expectNothingWritten(key)
  })

  it('stops reading a chunked body at the first byte past the signed size', async () => {
    const { key, bytes } = chunk(300_000)
    const plane = await startDataPlane(new LocalDiskBlobStore({ directory, secret }))
    try {
      const url = await signedPut(key, 100_000)
      // A stream body goes out chunked, without Content-Length: only the counting stops it.
      const res = await fetch(url.replace(publicUrl, plane.url), {
        method: 'PUT',
        body: Readable.toWeb(Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)])),
        duplex: 'half',
      } as RequestInit)
      expect(res.status).toBe(413)
      expect(await errorCode(res)).toBe('TOO_LARGE')
      await expectNothingWritten(key)
    } finally {
      await plane.close()
    }
  })

  it('answers a large PUT with a bad signature with 403 over real HTTP', async () => {
    const { key, bytes } = chunk(4 * 1024 * 1024)
    const plane = await startDataPlane(new LocalDiskBlobStore({ directory, secret }))
    try {
      const url = `${plane.url}/blobs/${key}?exp=9999999999&size=${bytes.byteLength}&sig=${'A'.repeat(43)}`
      const res = await fetch(url, { method: 'PUT', body: bytes })
      expect(res.status).toBe(403)
      expect(await errorCode(res)).toBe('BAD_SIGNATURE')
      await expectNothingWritten(key)
    } finally {
      await plane.close()
    }
  })

  it('answers 400 to a malformed key and 404 to a missing blob', async () => {
    const bad = await app.inject({ method: 'GET', url: '/blobs/..%2F..%2Fetc%2Fpasswd?exp=1' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.code).toBe('INVALID_INPUT')
    const { key } = chunk()
    const get = await store.presignGet(key, { expiresInSeconds: 60 })
    const missing = await app.inject({ method: 'GET', url: pathOf(get.url) })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error.code).toBe('NOT_FOUND')
  })
})
