/**
 * Another device of the account finishes an upload session on its uploader's behalf
 * (docs/LAN-FIRST.md "Takeover"); a device of another account can neither see nor finish
 * it. Run against each metadata store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FlowBackend, upload } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  snapshot,
  startApp,
  type TestApp,
  type TestDevice,
  type TestFile,
} from './harness.ts'

/** Opens a session and PUTs none of its chunks: the uploader vanished right after init. */
async function openOnly(
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
  return init.json().sessionId as string
}

/** What a device that holds every chunk does: fresh URLs, PUT what is missing, complete. */
async function finish(device: TestDevice, sessionId: string, file: TestFile) {
  const status = await device.call({ method: 'GET', url: `/files/upload/${sessionId}` })
  expect(status.statusCode, status.body).toBe(200)
  for (const u of status.json().uploads) {
    const id = file.manifest.chunks[u.index]!.id
    const put = await fetch(u.url, { method: 'PUT', headers: u.headers, body: file.bytes.get(id) })
    expect(put.status).toBe(200)
  }
  return device.call({ method: 'POST', url: `/files/upload/${sessionId}/complete` })
}

export function runTakeoverSuite(name: string, open: () => Promise<FlowBackend>): void {
  describe(`takeover of an upload session on ${name}`, () => {
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

    it("lists the account's open sessions with manifest and base, to every device of it", async () => {
      const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
      const v1 = (await upload(laptop!, 'film.mkv', makeFile([30]), null)).result
      const file = makeFile([40, 50])
      const sessionId = await openOnly(laptop!, 'film.mkv', file, 1)
      const list = await desktop!.call({ method: 'GET', url: '/files/uploads' })
      expect(list.statusCode, list.body).toBe(200)
      expect(list.json().uploads).toEqual([
        expect.objectContaining({
          sessionId,
          path: 'film.mkv',
          deviceId: laptop!.deviceId,
          hash: file.manifest.hash,
          chunks: file.manifest.chunks,
          base: { fileId: v1.fileId, version: 1 },
        }),
      ])
    })

    it("a device of the same account finishes it: the uploader's commit, answered again to the uploader", async () => {
      const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
      const v1 = (await upload(laptop!, 'clip.mov', makeFile([10]), null)).result
      const file = makeFile([20, 25])
      const sessionId = await openOnly(laptop!, 'clip.mov', file, 1)
      const done = await finish(desktop!, sessionId, file)
      expect(done.statusCode, done.body).toBe(200)
      expect(done.json()).toEqual({
        fileId: v1.fileId,
        version: 2,
        path: 'clip.mov',
        state: 'committed',
      })
      const changes = (await desktop!.call({ method: 'GET', url: '/sync/changes?cursor=0' })).json()
        .changes
      expect(changes).toHaveLength(2)
      // The author is the uploader, not the device that finished for it.
      expect(changes[1]).toMatchObject({ kind: 'modified', version: 2, deviceId: laptop!.deviceId })
      // The uploader, back, completes the same session: the same answer, nothing written.
      const before = await snapshot(t.app.db)
      const again = await laptop!.call({
        method: 'POST',
        url: `/files/upload/${sessionId}/complete`,
      })
      expect(again.json()).toEqual(done.json())
      expect(await snapshot(t.app.db)).toEqual(before)
      expect((await laptop!.call({ method: 'GET', url: '/files/uploads' })).json().uploads).toEqual(
        [],
      )
    })

    it('keeps the conflict semantics of the session: a version it did not see becomes a copy', async () => {
      const [laptop, desktop, phone] = await newAccount(t.app, ['laptop', 'desktop', 'phone'])
      const v1 = (await upload(laptop!, 'notes.txt', makeFile([10]), null)).result
      const file = makeFile([11])
      const sessionId = await openOnly(laptop!, 'notes.txt', file, 1)
      // Meanwhile the phone commits v2 from the same base.
      await upload(phone!, 'notes.txt', makeFile([12]), 1)
      const done = await finish(desktop!, sessionId, file)
      expect(done.statusCode, done.body).toBe(200)
      expect(done.json()).toMatchObject({ fileId: v1.fileId, version: 3 })
      expect(done.json().conflict.path).toMatch(
        /^notes \(conflicted copy from phone \d{4}-\d\d-\d\d \d{6}\)\.txt$/,
      )
      const meta = await desktop!.call({ method: 'GET', url: `/files/${v1.fileId}/metadata` })
      expect(meta.json()).toMatchObject({ hash: file.manifest.hash, deviceId: laptop!.deviceId })
    })

    it('a device of another account neither sees nor finishes it (404), and nothing changes', async () => {
      const [laptop] = await newAccount(t.app, ['laptop'])
      const [stranger] = await newAccount(t.app, ['stranger'])
      const file = makeFile([15, 16])
      const sessionId = await openOnly(laptop!, 'private.bin', file, null)
      // The chunks are even in the store: only the account stands between the stranger and a commit.
      const status = (
        await laptop!.call({ method: 'GET', url: `/files/upload/${sessionId}` })
      ).json()
      for (const u of status.uploads) {
        const id = file.manifest.chunks[u.index]!.id
        await fetch(u.url, { method: 'PUT', headers: u.headers, body: file.bytes.get(id) })
      }
      const before = await snapshot(t.app.db)
      const list = await stranger!.call({ method: 'GET', url: '/files/uploads' })
      expect(list.json().uploads).toEqual([])
      const peek = await stranger!.call({ method: 'GET', url: `/files/upload/${sessionId}` })
      expect(peek.statusCode).toBe(404)
      expect(peek.json().error.code).toBe('NOT_FOUND')
      const take = await stranger!.call({
        method: 'POST',
        url: `/files/upload/${sessionId}/complete`,
      })
      expect(take.statusCode).toBe(404)
      expect(take.json().error.code).toBe('NOT_FOUND')
      expect(await snapshot(t.app.db)).toEqual(before)
      // Still the laptop's to finish.
      const mine = await laptop!.call({
        method: 'POST',
        url: `/files/upload/${sessionId}/complete`,
      })
      expect(mine.statusCode, mine.body).toBe(200)
    })
  })
}
