import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peerIdentity } from '../../../coordinator/test/harness.ts'
import { CloudsyncError } from '../../../protocol/errors.ts'
import { HttpCoordinator, linkDevice, MAX_CHUNK_BYTES } from '../http-coordinator.ts'
import {
  encryptFile,
  newAccount,
  randomText,
  startCoordinator,
  type TestCoordinator,
  tinyServer,
  uploadFile,
} from './coordinator-harness.ts'

/** The CloudsyncError a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<CloudsyncError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(CloudsyncError)
  return err as CloudsyncError
}

let t: TestCoordinator
beforeAll(async () => {
  t = await startCoordinator()
})
afterAll(() => t.close())

describe('HttpCoordinator against a real coordinator', () => {
  it('uploads through presigned URLs and reads the file back: metadata, download, chunks', async () => {
    const { devices, secret } = await newAccount(t, 2)
    const [laptop, desktop] = devices
    const file = await encryptFile(secret, randomText(20_000))
    expect(file.manifest.chunks.length).toBeGreaterThan(3)

    const done = await uploadFile(laptop!.api, 'docs/a.bin', file)
    expect(done.missing).toEqual(file.manifest.chunks.map((c) => c.index))
    expect(done).toMatchObject({ path: 'docs/a.bin', version: 1, state: 'committed' })

    const meta = await desktop!.api.metadata(done.fileId)
    expect(meta).toMatchObject({ size: 20_000, hash: file.manifest.hash, deleted: false })
    expect(meta.chunks).toEqual(file.manifest.chunks)
    expect((await desktop!.api.byPath('docs/a.bin')).fileId).toBe(done.fileId)

    const dl = await desktop!.api.download(done.fileId, 1)
    expect(dl.chunks.map((c) => c.id)).toEqual(file.manifest.chunks.map((c) => c.id))
    for (const c of dl.chunks) {
      const bytes = await desktop!.api.fetchChunk(c.url)
      expect(Buffer.from(bytes).equals(file.ciphertexts.get(c.id)!)).toBe(true)
    }

    // The same content again: nothing is missing, nothing is PUT.
    const again = await laptop!.api.initUpload({
      path: 'copy.bin',
      ...file.manifest,
      baseVersion: null,
    })
    expect(again.missing).toEqual([])
    expect((await laptop!.api.uploadStatus(again.sessionId)).state).toBe('open')
  })

  it('lists, moves, deletes, reads changes, devices and addresses', async () => {
    const { devices, secret } = await newAccount(t, 2)
    const api = devices[0]!.api
    const done = await uploadFile(api, 'x/one.txt', await encryptFile(secret, randomText(500, 2)))
    expect((await api.list({ prefix: 'x/' })).files.map((f) => f.path)).toEqual(['x/one.txt'])
    const moved = await api.moveFile(done.fileId, 'y/one.txt', 1)
    expect(moved.path).toBe('y/one.txt')
    const gone = await api.deleteFile(done.fileId, moved.version)
    expect(gone.deleted).toBe(true)

    const page = await devices[1]!.api.changes(0, { limit: 2 })
    expect(page.changes.map((c) => c.kind)).toEqual(['created', 'moved'])
    expect(page).toMatchObject({ cursor: 2, hasMore: true })
    const rest = await devices[1]!.api.changes(page.cursor)
    expect(rest.changes.map((c) => c.kind)).toEqual(['deleted'])

    await api.updateAddresses(['/ip4/127.0.0.1/tcp/4001'])
    const list = await devices[1]!.api.devices()
    const self = list.devices.find((d) => d.deviceId === devices[0]!.linked.deviceId)
    expect(self?.addresses).toEqual(['/ip4/127.0.0.1/tcp/4001'])
  })

  it('long-polls /sync/changes and wakes on a commit', async () => {
    const { devices, secret } = await newAccount(t, 2)
    const started = Date.now()
    const waiting = devices[1]!.api.changes(0, { wait: 20 })
    await new Promise((r) => setTimeout(r, 100))
    await uploadFile(devices[0]!.api, 'late.txt', await encryptFile(secret, randomText(300, 3)))
    const page = await waiting
    expect(page.changes.map((c) => c.path)).toEqual(['late.txt'])
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})

describe('error mapping', () => {
  it('answers the server code and message: bad credential, stale base, unknown file', async () => {
    const stranger = new HttpCoordinator({ baseUrl: t.url, credential: 'x'.repeat(43) })
    const denied = await failure(stranger.devices())
    expect(denied.code).toBe('UNAUTHENTICATED')
    expect(denied.message).toMatch(/credential/)

    const { devices, secret } = await newAccount(t)
    const api = devices[0]!.api
    const done = await uploadFile(api, 'stale.txt', await encryptFile(secret, randomText(400, 4)))
    const stale = await failure(api.deleteFile(done.fileId, 7))
    expect(stale.code).toBe('STALE_BASE')
    expect(stale.status).toBe(409)
    expect(stale.message).toMatch(/version/i)

    const missing = await failure(api.metadata('00000000-0000-4000-8000-000000000000'))
    expect(missing.code).toBe('NOT_FOUND')

    const identity = await peerIdentity('y'.repeat(43))
    const badLink = await failure(
      linkDevice(t.url, { token: 'y'.repeat(43), name: 'n', ...identity }),
    )
    expect(badLink.code).toBe('UNAUTHENTICATED')
    expect(badLink.message).toMatch(/link code/)
  })

  it('refuses answers that break the protocol, and maps 5xx and silence to UNAVAILABLE', async () => {
    const server = await tinyServer((request, response) => {
      const path = request.url ?? ''
      if (path.startsWith('/sync/changes')) {
        response.setHeader('content-type', 'application/json')
        return response.end(
          JSON.stringify({ changes: [{ seq: 'one' }], cursor: 1, hasMore: false }),
        )
      }
      if (path === '/devices') return response.end('<html>captive portal</html>')
      if (path.startsWith('/files/upload/')) {
        response.statusCode = 502
        return response.end('bad gateway')
      }
      if (path === '/huge') {
        response.setHeader('content-length', String(MAX_CHUNK_BYTES + 1))
        return response.flushHeaders() // and never send the body
      }
      // /files/by-path and anything else: never answer.
    })
    try {
      const api = new HttpCoordinator({
        baseUrl: server.url,
        credential: 'z'.repeat(43),
        timeoutMs: 300,
      })
      const bad = await failure(api.changes(0))
      expect(bad.code).toBe('INTERNAL')
      expect(bad.message).toMatch(/GET \/sync\/changes.*changes\[0\]/)

      const html = await failure(api.devices())
      expect(html.code).toBe('INTERNAL')
      expect(html.message).toMatch(/not JSON/)

      expect((await failure(api.uploadStatus('00000000-0000-4000-8000-000000000000'))).code).toBe(
        'UNAVAILABLE',
      )

      const started = Date.now()
      const silent = await failure(api.byPath('a.txt'))
      expect(silent.code).toBe('UNAVAILABLE')
      expect(silent.message).toMatch(/timed out after 300 ms/)
      expect(Date.now() - started).toBeLessThan(3_000)

      const huge = await failure(api.fetchChunk(`${server.url}/huge`))
      expect(huge.code).toBe('TOO_LARGE')
    } finally {
      await server.close()
    }
  })

  it("rethrows the caller's abort as is, not as UNAVAILABLE", async () => {
    const server = await tinyServer(() => {})
    try {
      const api = new HttpCoordinator({ baseUrl: server.url, credential: 'z'.repeat(43) })
      const controller = new AbortController()
      const pending = api.devices(controller.signal)
      controller.abort(new Error('shutting down'))
      await expect(pending).rejects.toThrow('shutting down')
    } finally {
      await server.close()
    }
  })
})

// Last: it stops the shared coordinator (afterAll's close is then a no-op).
it('answers UNAVAILABLE quickly once the coordinator is stopped', async () => {
  const { devices } = await newAccount(t)
  await devices[0]!.api.devices() // a kept-alive connection exists
  await t.close()
  const started = Date.now()
  const err = await failure(devices[0]!.api.devices())
  expect(err.code).toBe('UNAVAILABLE')
  expect(Date.now() - started).toBeLessThan(2_000)
})
