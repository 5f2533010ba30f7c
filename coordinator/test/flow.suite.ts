/**
 * The upload-to-download flow over real HTTP (chunks PUT to the presigned URLs, GET back),
 * run against each metadata store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import type { Db } from '../store/index.ts'
import {
  makeFile,
  newAccount,
  snapshot,
  startApp,
  type TestApp,
  type TestDevice,
  type TestFile,
} from './harness.ts'

export interface FlowBackend {
  db: Db
  teardown(): Promise<void>
}

/** Opens a session, PUTs the missing chunks over HTTP, completes. */
export async function upload(
  device: TestDevice,
  path: string,
  file: TestFile,
  baseVersion: number | null,
) {
  const init = await device.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: { path, ...file.manifest, baseVersion },
  })
  expect(init.statusCode, init.body).toBe(201)
  const { sessionId, uploads, missing } = init.json()
  for (const u of uploads) {
    const id = file.manifest.chunks[u.index]!.id
    const put = await fetch(u.url, { method: 'PUT', headers: u.headers, body: file.bytes.get(id) })
    expect(put.status).toBe(200)
  }
  const done = await device.call({ method: 'POST', url: `/files/upload/${sessionId}/complete` })
  expect(done.statusCode, done.body).toBe(200)
  return { sessionId, missing: missing as number[], result: done.json() }
}

export function runFlowSuite(name: string, open: () => Promise<FlowBackend>): void {
  describe(`upload flow on ${name}`, () => {
    let backend: FlowBackend
    let t: TestApp
    beforeAll(async () => {
      backend = await open()
      t = await startApp({ listen: true, deps: { db: backend.db } })
    })
    afterAll(async () => {
      await t?.close()
      await backend?.teardown()
    })

    it('uploads, commits, answers metadata and downloads the same bytes', async () => {
      const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
      const file = makeFile([100, 300, 20])
      const { result, missing } = await upload(laptop!, 'docs/report.pdf', file, null)
      expect(missing).toEqual([0, 1, 2])
      expect(result).toMatchObject({ path: 'docs/report.pdf', version: 1, state: 'committed' })

      const meta = await desktop!.call({ method: 'GET', url: `/files/${result.fileId}/metadata` })
      expect(meta.json()).toMatchObject({ size: 420, hash: file.manifest.hash, deleted: false })
      expect(meta.json().chunks).toEqual(file.manifest.chunks)

      const dl = (
        await desktop!.call({ method: 'GET', url: `/files/${result.fileId}/download` })
      ).json()
      expect(new Date(dl.expiresAt).getTime()).toBeGreaterThan(Date.now())
      for (const c of dl.chunks) {
        const bytes = new Uint8Array(await (await fetch(c.url)).arrayBuffer())
        expect(Buffer.from(bytes).equals(Buffer.from(file.bytes.get(c.id)!))).toBe(true)
      }

      const byPath = await desktop!.call({
        method: 'GET',
        url: '/files/by-path?path=docs%2Freport.pdf',
      })
      expect(byPath.json().fileId).toBe(result.fileId)
      const list = (await desktop!.call({ method: 'GET', url: '/files?prefix=docs/' })).json()
      expect(list.files.map((f: { path: string }) => f.path)).toEqual(['docs/report.pdf'])

      const changes = (await desktop!.call({ method: 'GET', url: '/sync/changes?cursor=0' })).json()
      expect(changes.changes).toHaveLength(1)
      expect(changes.changes[0]).toMatchObject({ seq: 1, kind: 'created', path: 'docs/report.pdf' })
      expect(changes).toMatchObject({ cursor: 1, hasMore: false })
    })

    it('dedups: a second upload of stored chunks needs none of them', async () => {
      const [laptop] = await newAccount(t.app)
      const file = makeFile([50, 60])
      await upload(laptop!, 'a.bin', file, null)
      const again = await upload(laptop!, 'copy of a.bin', file, null)
      expect(again.missing).toEqual([])
    })

    it('refuses a manifest whose sizes contradict stored bytes (422), leaving no session', async () => {
      const [laptop] = await newAccount(t.app)
      const stored = makeFile([64])
      const id = stored.manifest.chunks[0]!.id
      await t.app.blobs.put(blobKeyOf(laptop!.accountId, id), stored.bytes.get(id)!)
      // The same id, claimed with another size: the bytes under it say otherwise.
      const claimed = makeFile([100])
      const chunks = [{ ...claimed.manifest.chunks[0]!, id }]
      const before = await snapshot(t.app.db)
      const init = await laptop!.call({
        method: 'POST',
        url: '/files/upload/init',
        payload: { path: 'liar.bin', ...claimed.manifest, chunks, baseVersion: null },
      })
      expect(init.statusCode).toBe(422)
      expect(init.json().error).toMatchObject({
        code: 'CHUNK_CORRUPT',
        details: { field: 'chunks[0].cipherSize' },
      })
      expect(await snapshot(t.app.db)).toEqual(before)
    })

    it('completing twice answers the same result and logs one change', async () => {
      const [laptop] = await newAccount(t.app)
      const { sessionId, result } = await upload(laptop!, 'x.txt', makeFile([10]), null)
      const before = await snapshot(t.app.db)
      const again = await laptop!.call({
        method: 'POST',
        url: `/files/upload/${sessionId}/complete`,
      })
      expect(again.json()).toEqual(result)
      expect(await snapshot(t.app.db)).toEqual(before)
    })

    it('refuses to complete while chunks are missing (409, names them), then resumes', async () => {
      const [laptop] = await newAccount(t.app)
      const file = makeFile([10, 20, 30])
      const init = (
        await laptop!.call({
          method: 'POST',
          url: '/files/upload/init',
          payload: { path: 'r', ...file.manifest, baseVersion: null },
        })
      ).json()
      const first = init.uploads[0]
      await fetch(first.url, {
        method: 'PUT',
        headers: first.headers,
        body: file.bytes.get(file.manifest.chunks[0]!.id),
      })
      const early = await laptop!.call({
        method: 'POST',
        url: `/files/upload/${init.sessionId}/complete`,
      })
      expect(early.statusCode).toBe(409)
      expect(early.json().error).toMatchObject({
        code: 'INCOMPLETE_UPLOAD',
        details: { missing: [1, 2] },
      })
      const status = (
        await laptop!.call({ method: 'GET', url: `/files/upload/${init.sessionId}` })
      ).json()
      expect(status).toMatchObject({ state: 'open', missing: [1, 2] })
      expect(status.uploads.map((u: { index: number }) => u.index)).toEqual([1, 2])
      const changes = (await laptop!.call({ method: 'GET', url: '/sync/changes?cursor=0' })).json()
      expect(changes.changes).toEqual([])
    })

    it('keeps a conflict copy when two devices commit from the same base', async () => {
      const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
      const v1 = (await upload(laptop!, 'notes.txt', makeFile([10]), null)).result
      await upload(laptop!, 'notes.txt', makeFile([11]), 1)
      const late = (await upload(desktop!, 'notes.txt', makeFile([12]), 1)).result
      expect(late).toMatchObject({ fileId: v1.fileId, version: 3 })
      expect(late.conflict.path).toMatch(
        /^notes \(conflicted copy from laptop \d{4}-\d\d-\d\d \d{6}\)\.txt$/,
      )
      const changes = (await laptop!.call({ method: 'GET', url: '/sync/changes?cursor=0' })).json()
        .changes
      expect(changes.map((c: { kind: string }) => c.kind)).toEqual([
        'created',
        'modified',
        'created',
        'modified',
      ])
      expect(changes[2].conflictOf).toEqual({ fileId: v1.fileId, path: 'notes.txt' })
      const copy = await laptop!.call({
        method: 'GET',
        url: `/files/${late.conflict.fileId}/metadata`,
      })
      expect(copy.json().size).toBe(11)
    })

    it('an edit beats a concurrent delete; a stale delete is a 409 that writes nothing', async () => {
      const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
      const v1 = (await upload(laptop!, 'plan.md', makeFile([10]), null)).result
      await upload(laptop!, 'plan.md', makeFile([20]), 1)
      const before = await snapshot(t.app.db)
      const stale = await desktop!.call({
        method: 'DELETE',
        url: `/files/${v1.fileId}`,
        payload: { baseVersion: 1 },
      })
      expect(stale.statusCode).toBe(409)
      expect(stale.json().error).toMatchObject({
        code: 'STALE_BASE',
        details: { currentVersion: 2 },
      })
      expect(await snapshot(t.app.db)).toEqual(before)

      const del = await desktop!.call({
        method: 'DELETE',
        url: `/files/${v1.fileId}`,
        payload: { baseVersion: 2 },
      })
      expect(del.json()).toMatchObject({ deleted: true, version: 2 })
      // The laptop edited from version 2 without seeing the delete: the edit survives.
      const edit = (await upload(laptop!, 'plan.md', makeFile([30]), 2)).result
      expect(edit).toMatchObject({ fileId: v1.fileId, version: 3 })
      const meta = (
        await laptop!.call({ method: 'GET', url: `/files/${v1.fileId}/metadata` })
      ).json()
      expect(meta).toMatchObject({ deleted: false, size: 30 })
    })

    it('moves a file, and refuses a move onto a taken path or with a stale base', async () => {
      const [laptop] = await newAccount(t.app)
      const a = (await upload(laptop!, 'a.txt', makeFile([10]), null)).result
      await upload(laptop!, 'b.txt', makeFile([10]), null)
      const taken = await laptop!.call({
        method: 'POST',
        url: `/files/${a.fileId}/move`,
        payload: { to: 'b.txt', baseVersion: 1 },
      })
      expect(taken.statusCode).toBe(409)
      const stale = await laptop!.call({
        method: 'POST',
        url: `/files/${a.fileId}/move`,
        payload: { to: 'c.txt', baseVersion: 7 },
      })
      expect(stale.json().error.code).toBe('STALE_BASE')
      const bad = await laptop!.call({
        method: 'POST',
        url: `/files/${a.fileId}/move`,
        payload: { to: '../c.txt', baseVersion: 1 },
      })
      expect(bad.json().error.code).toBe('INVALID_PATH')
      const moved = await laptop!.call({
        method: 'POST',
        url: `/files/${a.fileId}/move`,
        payload: { to: 'dir/c.txt', baseVersion: 1 },
      })
      expect(moved.json()).toMatchObject({ path: 'dir/c.txt', version: 1 })
      const last = (await laptop!.call({ method: 'GET', url: '/sync/changes?cursor=2' })).json()
        .changes
      expect(last).toEqual([
        expect.objectContaining({ kind: 'moved', fromPath: 'a.txt', path: 'dir/c.txt' }),
      ])
    })

    it('refuses an upload whose base version is newer than the file (409)', async () => {
      const [laptop] = await newAccount(t.app)
      await upload(laptop!, 'v.txt', makeFile([10]), null)
      const before = await snapshot(t.app.db)
      const res = await laptop!.call({
        method: 'POST',
        url: '/files/upload/init',
        payload: { path: 'v.txt', ...makeFile([5]).manifest, baseVersion: 4 },
      })
      expect(res.statusCode).toBe(409)
      expect(res.json().error.message).toMatch(
        /baseVersion 4 is newer than v\.txt's current version 1/,
      )
      expect(await snapshot(t.app.db)).toEqual(before)
    })

    it('long-polls: a waiting changes request answers when another device commits', async () => {
      const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
      const started = Date.now()
      const waiting = desktop!.call({ method: 'GET', url: '/sync/changes?cursor=0&wait=20' })
      await new Promise((r) => setTimeout(r, 100))
      await upload(laptop!, 'ping.txt', makeFile([5]), null)
      const res = (await waiting).json()
      expect(res.changes.map((c: { path: string }) => c.path)).toEqual(['ping.txt'])
      expect(Date.now() - started).toBeLessThan(10_000)
    })
  })
}
