/**
 * Cross-account dedup in a global domain, over real HTTP: an account may reference a
 * chunk another account stored only with a valid proof of possession (the "Dropship"
 * attack: knowing ids is not enough). Run against each metadata store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { possessionResponse } from '../../protocol/crypto/possession.ts'
import type { Challenge } from '../../protocol/schemas/files.ts'
import type { Db } from '../store/index.ts'
import type { FlowBackend } from './flow.suite.ts'
import { upload } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  snapshot,
  startApp,
  type TestApp,
  type TestDevice,
  type TestFile,
} from './harness.ts'

const GLOBAL = {
  dedupDomain: 'global' as const,
  globalDomainSecret: Buffer.alloc(32, 9).toString('base64'),
}

/** Everything a refused complete must leave as it was, access grants included. */
async function state(db: Db) {
  const access = await db.query('SELECT * FROM chunk_access ORDER BY 1, 2, 3')
  return { ...(await snapshot(db)), access: access.rows }
}

export async function initUpload(device: TestDevice, path: string, file: TestFile) {
  const res = await device.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: { path, ...file.manifest, baseVersion: null },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as { sessionId: string; missing: number[]; challenges?: Challenge[] }
}

function prove(file: TestFile, challenges: Challenge[]) {
  return challenges.map((c) => {
    const bytes = file.bytes.get(file.manifest.chunks[c.index]!.id)!
    return { index: c.index, response: possessionResponse(c.nonce, bytes, c.offset, c.length) }
  })
}

function complete(device: TestDevice, sessionId: string, proofs?: unknown) {
  return device.call({
    method: 'POST',
    url: `/files/upload/${sessionId}/complete`,
    ...(proofs !== undefined && { payload: { proofs } }),
  })
}

export function runPossessionSuite(name: string, open: () => Promise<FlowBackend>): void {
  describe(`proof of possession on ${name}`, () => {
    let backend: FlowBackend
    let t: TestApp
    let owner: TestDevice
    let other: TestDevice
    beforeAll(async () => {
      backend = await open()
      t = await startApp({ listen: true, config: GLOBAL, deps: { db: backend.db } })
      owner = (await newAccount(t.app))[0]!
      other = (await newAccount(t.app))[0]!
    })
    afterAll(async () => {
      await t?.close()
      await backend?.teardown()
    })

    it('lets another account commit the same file with proofs, re-uploading no bytes', async () => {
      const file = makeFile([300, 200, 100])
      await upload(owner, 'a.bin', file, null)
      const session = await initUpload(other, 'b.bin', file)
      expect(session.missing).toEqual([])
      expect(session.challenges?.map((c) => c.index)).toEqual([0, 1, 2])
      const nonces = new Set(session.challenges!.map((c) => c.nonce))
      expect(nonces.size).toBe(3)
      // Resuming answers the same challenges (they are remembered with the session).
      const status = await other.call({ method: 'GET', url: `/files/upload/${session.sessionId}` })
      expect(status.json().challenges).toEqual(session.challenges)

      const done = await complete(other, session.sessionId, prove(file, session.challenges!))
      expect(done.statusCode, done.body).toBe(200)
      const fileId = done.json().fileId
      const dl = (await other.call({ method: 'GET', url: `/files/${fileId}/download` })).json()
      for (const c of dl.chunks) {
        const bytes = new Uint8Array(await (await fetch(c.url)).arrayBuffer())
        expect(Buffer.from(bytes).equals(Buffer.from(file.bytes.get(c.id)!))).toBe(true)
      }
      const refs = await t.app.db.query<{ refcount: number }>(
        `SELECT refcount FROM chunks WHERE domain = 'global' AND id = $1`,
        [file.manifest.chunks[0]!.id],
      )
      expect(refs.rows).toEqual([{ refcount: 2 }])
      // Proven once, the chunks are the account's to reference: no challenge next time.
      const again = await initUpload(other, 'c.bin', file)
      expect(again).toMatchObject({ missing: [] })
      expect(again.challenges).toBeUndefined()
    })

    it('challenges only chunks stored by others, once per chunk; the rest are uploaded', async () => {
      const shared = makeFile([150])
      await upload(owner, 'shared.bin', shared, null)
      const reuse: Uint8Array[] = []
      reuse[0] = [...shared.bytes.values()][0]!
      reuse[2] = reuse[0]
      const mixed = makeFile([150, 80, 150], reuse) // [shared, new, shared again]
      const session = await initUpload(other, 'mixed.bin', mixed)
      expect(session.missing).toEqual([1])
      expect(session.challenges?.map((c) => c.index)).toEqual([0])
      const status = await other.call({ method: 'GET', url: `/files/upload/${session.sessionId}` })
      const [put] = status.json().uploads
      expect(put.index).toBe(1)
      const body = mixed.bytes.get(mixed.manifest.chunks[1]!.id)
      expect((await fetch(put.url, { method: 'PUT', headers: put.headers, body })).status).toBe(200)
      const done = await complete(other, session.sessionId, prove(mixed, session.challenges!))
      expect(done.statusCode, done.body).toBe(200)
    })

    for (const [what, tamper] of [
      ['no proofs at all', () => undefined],
      ['an empty proof list', () => []],
      [
        'a wrong response',
        (p: { index: number; response: string }[]) =>
          p.map((x) => ({
            ...x,
            response: x.response.replace(/^./, (d) => (d === '0' ? '1' : '0')),
          })),
      ],
      ['a proof over another range', 'shift'],
      [
        'proofs under other indexes',
        (p: { index: number; response: string }[]) => p.map((x) => ({ ...x, index: x.index + 1 })),
      ],
    ] as const) {
      it(`refuses ${what}: 403 naming the chunk, nothing written`, async () => {
        const file = makeFile([120, 90])
        await upload(owner, `${what}.bin`, file, null)
        const session = await initUpload(other, `${what}-copy.bin`, file)
        let proofs: unknown
        if (tamper === 'shift') {
          proofs = session.challenges!.map((c) => {
            const bytes = file.bytes.get(file.manifest.chunks[c.index]!.id)!
            const offset = c.offset > 0 ? c.offset - 1 : c.offset + 1
            const length = Math.min(c.length, bytes.length - offset)
            return { index: c.index, response: possessionResponse(c.nonce, bytes, offset, length) }
          })
        } else {
          proofs = tamper(prove(file, session.challenges!))
        }
        const before = await state(t.app.db)
        const res = await complete(other, session.sessionId, proofs)
        expect(res.statusCode, res.body).toBe(403)
        expect(res.json().error).toMatchObject({ code: 'FORBIDDEN', details: { index: 0 } })
        expect(res.json().error.message).toMatch(/chunks\[0\]/)
        expect(await state(t.app.db)).toEqual(before)
        // The same session still commits once the proofs are right.
        const ok = await complete(other, session.sessionId, prove(file, session.challenges!))
        expect(ok.statusCode, ok.body).toBe(200)
      })
    }
  })
}
