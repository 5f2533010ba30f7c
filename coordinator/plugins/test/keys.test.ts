import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateCoordinatorKeys } from '../../../protocol/certificates.ts'
import { buildApp } from '../../app.ts'
import { UrlSigner } from '../../blobs/index.ts'
import { testConfig } from '../../config.ts'
import { blobSigningSecret, loadCoordinatorKeys } from '../keys.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudsync-keys-'))
  dirs.push(dir)
  return dir
}

describe('coordinator keys', () => {
  it('gives every instance starting at once on one data dir the same key', async () => {
    const config = testConfig({ dataDir: await dataDir() })
    const loaded = await Promise.all(Array.from({ length: 8 }, () => loadCoordinatorKeys(config)))
    const keys = new Set(loaded.map((k) => k.privateKey))
    expect(keys.size).toBe(1)
    // The key survives a restart, and no temporary file is left behind.
    expect((await loadCoordinatorKeys(config)).privateKey).toBe(loaded[0]!.privateKey)
    expect(await readdir(config.dataDir!)).toEqual(['coordinator-key.json'])
  })

  it('derives one blob URL key per coordinator key: instances sharing it verify each other', () => {
    const keys = generateCoordinatorKeys()
    const publicUrl = 'http://127.0.0.1:1'
    const a = new UrlSigner({ secret: blobSigningSecret(keys), publicUrl })
    const b = new UrlSigner({ secret: blobSigningSecret({ ...keys }), publicUrl })
    const other = new UrlSigner({ secret: blobSigningSecret(generateCoordinatorKeys()), publicUrl })
    const key = 'ab'.repeat(32)
    const { url } = a.sign('PUT', key, { expiresInSeconds: 60, size: 10 })
    const query = Object.fromEntries(new URL(url).searchParams)
    expect(b.verify('PUT', key, query)).toEqual({ size: 10 })
    expect(() => other.verify('PUT', key, query)).toThrow(/does not match/)
    // Not the private key itself: the label keeps the two uses apart.
    expect(blobSigningSecret(keys).equals(Buffer.from(keys.privateKey, 'base64'))).toBe(false)
  })
})

describe('local blob URLs across instances', () => {
  it('are accepted by every instance sharing the coordinator key, and by no other', async () => {
    const coordinatorKey = generateCoordinatorKeys().privateKey
    const start = async (key: string) =>
      buildApp(testConfig({ dataDir: await dataDir(), coordinatorKey: key }))
    const [a, b, stranger] = await Promise.all([
      start(coordinatorKey),
      start(coordinatorKey),
      start(generateCoordinatorKeys().privateKey),
    ])
    try {
      const body = Buffer.from('chunk bytes')
      const key = createHash('sha256').update(body).digest('hex')
      const put = await a.blobs.presignPut(key, { size: body.length, expiresInSeconds: 60 })
      const { pathname, search } = new URL(put.url)
      const send = (app: typeof a) =>
        app.inject({
          method: 'PUT',
          url: `${pathname}${search}`,
          payload: body,
          headers: put.headers,
        })
      expect((await send(stranger)).statusCode).toBe(403)
      expect((await send(b)).statusCode).toBeLessThan(300)
      expect(await b.blobs.head(key)).toEqual({ size: body.length })
    } finally {
      await Promise.all([a.close(), b.close(), stranger.close()])
    }
  })
})
