/**
 * Garbage collection against each metadata store: real uploads over HTTP make the
 * chunks, runGc is called with a moved clock, and the blob store is asked what is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerMessage } from '../../protocol/schemas/ws.ts'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import { DEFAULT_GC_LIMITS, runGc } from '../services/gc.ts'
import { accountDomain } from '../store/accounts.ts'
import { getChunk, registerChunks } from '../store/chunks.ts'
import type { FlowBackend } from './flow.suite.ts'
import { upload } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  startApp,
  type TestApp,
  type TestDevice,
  type TestFile,
} from './harness.ts'

const HOUR = 3_600_000
const CONFIG = { gcGraceMs: HOUR, uploadSessionTtlMs: 2 * HOUR }
const later = (hours: number) => new Date(Date.now() + hours * HOUR)

/** Opens an upload and PUTs its missing chunks, then walks away (optionally after a status call). */
async function abandon(device: TestDevice, path: string, file: TestFile, status: boolean) {
  const init = await device.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: { path, ...file.manifest, baseVersion: null },
  })
  expect(init.statusCode, init.body).toBe(201)
  const { sessionId, uploads } = init.json()
  for (const u of uploads) {
    const body = file.bytes.get(file.manifest.chunks[u.index]!.id)
    expect((await fetch(u.url, { method: 'PUT', headers: u.headers, body })).status).toBe(200)
  }
  if (status) {
    const res = await device.call({ method: 'GET', url: `/files/upload/${sessionId}` })
    expect(res.json().missing).toEqual([])
  }
  return sessionId as string
}

export function runGcSuite(name: string, open: () => Promise<FlowBackend>): void {
  describe(`garbage collection on ${name}`, () => {
    let backend: FlowBackend
    let t: TestApp
    // Whether the account's upload of each chunk is in the blob store (keys: blobKeyOf).
    const stored = async (file: TestFile, by: TestDevice) =>
      Promise.all(
        file.manifest.chunks.map(
          async (c) => (await t.app.blobs.head(blobKeyOf(by.accountId, c.id))) !== null,
        ),
      )
    beforeAll(async () => {
      backend = await open()
      t = await startApp({ listen: true, config: CONFIG, deps: { db: backend.db } })
    })
    afterAll(async () => {
      await t?.close()
      await backend?.teardown()
    })

    it('expires an abandoned upload, tells the account, and collects the chunks only it held', async () => {
      const [laptop] = await newAccount(t.app)
      const kept = makeFile([100])
      await upload(laptop!, 'kept.bin', kept, null)
      // The abandoned file shares its first chunk with a committed one.
      const file = makeFile([100, 60, 70], [[...kept.bytes.values()][0]!])
      const sessionId = await abandon(laptop!, 'abandoned.bin', file, true)
      const heard: ServerMessage[] = []
      const stop = await t.app.feed.watch(laptop!.accountId, (m) => heard.push(m))
      try {
        // Open for another hour: nothing goes.
        await runGc(t.app, later(1))
        expect(await stored(file, laptop!)).toEqual([true, true, true])

        const report = await runGc(t.app, later(3))
        expect(report.expiredSessions).toContain(sessionId)
        expect(await stored(file, laptop!)).toEqual([true, false, false])
        const domain = accountDomain(laptop!.accountId)
        expect(await getChunk(t.app.db, domain, file.manifest.chunks[1]!.id)).toBeUndefined()
        expect(await getChunk(t.app.db, domain, kept.manifest.chunks[0]!.id)).toMatchObject({
          refcount: 1,
        })
        await expect.poll(() => heard).toContainEqual({ type: 'pending-expired', sessionId })
      } finally {
        await stop()
      }
      // Its pending notice ended; the session answers expired.
      const status = await laptop!.call({ method: 'GET', url: `/files/upload/${sessionId}` })
      expect(status.json().state).toBe('expired')
      // Expired exactly once.
      expect((await runGc(t.app, later(4))).expiredSessions).not.toContain(sessionId)
    })

    it('keeps an unreferenced chunk for the grace period', async () => {
      const [laptop] = await newAccount(t.app)
      const file = makeFile([90])
      const sessionId = await abandon(laptop!, 'young.bin', file, true)
      // runGc takes its dependencies: here the app's backends with a one-day grace period.
      const { db, blobs, feed, log } = t.app
      const deps = {
        db,
        blobs,
        feed,
        log,
        config: { gcGraceMs: 24 * HOUR, versionRetentionMs: 30 * 24 * HOUR },
      }
      const expired = await runGc(deps, later(3))
      expect(expired.expiredSessions).toContain(sessionId)
      expect(await stored(file, laptop!)).toEqual([true])
      await runGc(deps, later(23))
      expect(await stored(file, laptop!)).toEqual([true])
      await runGc(deps, later(25))
      expect(await stored(file, laptop!)).toEqual([false])
    })

    it('sweeps bytes an expired upload PUT but never registered', async () => {
      const [laptop] = await newAccount(t.app)
      const file = makeFile([80, 40])
      await abandon(laptop!, 'unregistered.bin', file, false)
      expect(await stored(file, laptop!)).toEqual([true, true])
      const report = await runGc(t.app, later(3))
      expect(report.sweptSessions).toBeGreaterThanOrEqual(1)
      expect(await stored(file, laptop!)).toEqual([false, false])
    })

    it('never deletes bytes another domain still indexes (the shared-key attack)', async () => {
      const [a] = await newAccount(t.app)
      const [b] = await newAccount(t.app)
      const file = makeFile([120])
      const { result } = await upload(a!, 'precious.bin', file, null)
      // B PUTs the same ciphertext under its own (account) domain and walks away...
      await abandon(b!, 'bait.bin', file, false)
      // ...and B's domain even indexes it, unreferenced (e.g. from before A's upload).
      const id = file.manifest.chunks[0]!.id
      await registerChunks(
        t.app.db,
        accountDomain(b!.accountId),
        b!.accountId,
        [{ id, cipherSize: 136 }],
        new Date(),
      )
      await runGc(t.app, later(5))
      expect(await getChunk(t.app.db, accountDomain(b!.accountId), id)).toBeUndefined()
      expect(await stored(file, a!)).toEqual([true])
      const dl = (await a!.call({ method: 'GET', url: `/files/${result.fileId}/download` })).json()
      const bytes = new Uint8Array(await (await fetch(dl.chunks[0].url)).arrayBuffer())
      expect(Buffer.from(bytes).equals(Buffer.from(file.bytes.get(id)!))).toBe(true)
    })

    it('does bounded work per run, and concurrent runs collect each thing once', async () => {
      const [laptop] = await newAccount(t.app)
      const files = [makeFile([30]), makeFile([31]), makeFile([32])]
      const sessions: string[] = []
      for (const [i, f] of files.entries())
        sessions.push(await abandon(laptop!, `b${i}.bin`, f, true))
      const first = await runGc(t.app, later(3), { maxChunks: 1, maxSessions: 1, maxVersions: 1 })
      expect(first.expiredSessions).toHaveLength(1)
      expect(first.chunksCollected).toBeLessThanOrEqual(1)
      const runs = await Promise.all([1, 2, 3].map(() => runGc(t.app, later(3), DEFAULT_GC_LIMITS)))
      const expired = [first, ...runs]
        .flatMap((r) => r.expiredSessions)
        .filter((s) => sessions.includes(s))
      expect(expired.sort()).toEqual([...sessions].sort())
      for (const f of files) expect(await stored(f, laptop!)).toEqual([false])
    })
  })
}
