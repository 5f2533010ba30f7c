/**
 * Registration against the collector on real Postgres (PGlite has one connection, so it
 * cannot show two transactions interleaving): a device's status call or completion that
 * finds its bytes waits while the collector holds the id's byte lock, and asks the blob
 * store only after, so bytes deleted under that lock are never registered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import { lockChunkBytes } from '../store/chunk-bytes.ts'
import type { Db } from '../store/index.ts'
import { migrate } from '../store/migrate.ts'
import { createTestSchema, postgresReachable, type TestSchema } from '../store/test/pg-harness.ts'
import { makeFile, newAccount, startApp, type TestApp, type TestDevice } from './harness.ts'

describe.runIf(await postgresReachable())('byte locks on Postgres', () => {
  let schema: TestSchema
  let db: Db
  let t: TestApp
  beforeAll(async () => {
    schema = await createTestSchema()
    db = schema.open(4)
    await migrate(db)
    t = await startApp({ listen: true, deps: { db } })
  })
  afterAll(async () => {
    await t?.close()
    await db?.close()
    await schema?.drop()
  })

  /**
   * A session whose one chunk was PUT; `ask` runs while the collector holds the chunk's
   * byte lock and deletes the bytes. Answers what `ask` answered and whether the chunk
   * ended up registered.
   */
  async function raceCollector(ask: (device: TestDevice, sessionId: string) => Promise<unknown>) {
    const [laptop] = await newAccount(t.app)
    const file = makeFile([64])
    const id = file.manifest.chunks[0]!.id
    const init = await laptop!.call({
      method: 'POST',
      url: '/files/upload/init',
      payload: { path: 'race.bin', ...file.manifest, baseVersion: null },
    })
    const { sessionId, uploads } = init.json()
    const [u] = uploads
    await fetch(u.url, { method: 'PUT', headers: u.headers, body: file.bytes.get(id) })

    let settled = false
    let answer: Promise<unknown> | undefined
    await db.transaction(async (gc) => {
      await lockChunkBytes(gc, [id], 'exclusive')
      answer = ask(laptop!, sessionId).finally(() => {
        settled = true
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(settled).toBe(false) // waiting for the collector's lock
      await t.app.blobs.delete(blobKeyOf(laptop!.accountId, id))
    })
    const rows = await db.query('SELECT 1 FROM chunks WHERE id = $1', [id])
    return { answer: await answer, registered: rows.rows.length > 0 }
  }

  it('does not register bytes the collector deletes while the device asks', async () => {
    const race = await raceCollector(async (device, sessionId) => {
      const res = await device.call({ method: 'GET', url: `/files/upload/${sessionId}` })
      return res.json()
    })
    expect(race.answer).toMatchObject({ missing: [0] })
    expect(race.registered).toBe(false)
  })

  it('does not commit bytes the collector deletes while the device completes', async () => {
    const race = await raceCollector(async (device, sessionId) => {
      const res = await device.call({ method: 'POST', url: `/files/upload/${sessionId}/complete` })
      return { status: res.statusCode, body: res.json() }
    })
    expect(race.answer).toMatchObject({
      status: 409,
      body: { error: { code: 'INCOMPLETE_UPLOAD', details: { missing: [0] } } },
    })
    expect(race.registered).toBe(false)
  })
})
