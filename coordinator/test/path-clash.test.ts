/**
 * Issue 14, item 2: the account's tree never holds a file where a folder is, or the reverse
 * (`clash` and `clash/b`), unless one commit removes the other. Refused with 409
 * PATH_CLASH, at init and again at commit; run on PGlite and on Postgres (same SQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../store/migrate.ts'
import { openPglite } from '../store/pglite.ts'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { type FlowBackend, upload } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  snapshot,
  startApp,
  type TestApp,
  type TestDevice,
} from './harness.ts'

const init = (device: TestDevice, path: string, file = makeFile([10])) =>
  device.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: { path, ...file.manifest, baseVersion: null },
  })

function expectClash(
  res: { statusCode: number; body: string; json(): { error?: unknown } },
  path: string,
  other: string,
) {
  expect(res.statusCode, res.body).toBe(409)
  expect(res.json().error).toMatchObject({
    code: 'PATH_CLASH',
    details: { path, clashesWith: other },
  })
}

function clashSuite(name: string, open: () => Promise<FlowBackend>): void {
  describe(`paths that clash, on ${name}`, () => {
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

    it('a file under a file, and a file over a folder, are refused at init; nothing changes', async () => {
      const [laptop] = await newAccount(t.app, ['laptop'])
      await upload(laptop!, 'clash', makeFile([10]), null)
      await upload(laptop!, 'dir/deep/b.txt', makeFile([10]), null)
      const before = await snapshot(t.app.db)
      expectClash(await init(laptop!, 'clash/b'), 'clash/b', 'clash')
      expectClash(await init(laptop!, 'clash/x/y'), 'clash/x/y', 'clash')
      expectClash(await init(laptop!, 'dir'), 'dir', 'dir/deep/b.txt')
      expectClash(await init(laptop!, 'dir/deep'), 'dir/deep', 'dir/deep/b.txt')
      expect(await snapshot(t.app.db)).toEqual(before)
      // Neighbours that only share a prefix are fine.
      await upload(laptop!, 'clash2', makeFile([10]), null)
      await upload(laptop!, 'dir.txt', makeFile([10]), null)
      await upload(laptop!, 'dir/deep/c.txt', makeFile([10]), null)
    })

    it('a clash that appears between init and complete is refused at complete', async () => {
      const [laptop, phone] = await newAccount(t.app, ['laptop', 'phone'])
      const file = makeFile([10])
      const opened = await init(laptop!, 'late/b')
      expect(opened.statusCode, opened.body).toBe(201)
      const { sessionId, uploads } = opened.json()
      for (const u of uploads) {
        const id = file.manifest.chunks[u.index]!.id
        await fetch(u.url, { method: 'PUT', headers: u.headers, body: file.bytes.get(id) })
      }
      await upload(phone!, 'late', makeFile([20]), null)
      const done = await laptop!.call({
        method: 'POST',
        url: `/files/upload/${sessionId}/complete`,
      })
      expectClash(done, 'late/b', 'late')
    })

    it('once the other side is deleted, the path is free', async () => {
      const [laptop] = await newAccount(t.app, ['laptop'])
      const { result } = await upload(laptop!, 'swap', makeFile([10]), null)
      expectClash(await init(laptop!, 'swap/inner.txt'), 'swap/inner.txt', 'swap')
      const del = await laptop!.call({
        method: 'DELETE',
        url: `/files/${result.fileId}`,
        payload: { baseVersion: 1 },
      })
      expect(del.statusCode, del.body).toBe(200)
      await upload(laptop!, 'swap/inner.txt', makeFile([10]), null)
    })

    it('a move onto a folder is refused, unless the moved file is all the folder held', async () => {
      const [laptop] = await newAccount(t.app, ['laptop'])
      const { result: m } = await upload(laptop!, 'm', makeFile([10]), null)
      const { result: f } = await upload(laptop!, 'n/f', makeFile([10]), null)
      const move = (fileId: string, to: string) =>
        laptop!.call({
          method: 'POST',
          url: `/files/${fileId}/move`,
          payload: { baseVersion: 1, to },
        })
      expectClash(await move(m.fileId, 'n'), 'n', 'n/f')
      expectClash(await move(m.fileId, 'n/f/g'), 'n/f/g', 'n/f')
      const folded = await move(f.fileId, 'n')
      expect(folded.statusCode, folded.body).toBe(200)
      expect(folded.json()).toMatchObject({ path: 'n' })
    })
  })
}

clashSuite('PGlite', async () => {
  const db = await openPglite()
  await migrate(db)
  return { db, teardown: () => db.close() }
})

describe.skipIf(!(await postgresReachable()))('on Postgres', () => {
  clashSuite('Postgres', () => migratedTestDb())
})
