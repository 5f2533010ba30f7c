/**
 * No account can claim another account's chunk (issue 15, section 2), on Postgres, in both
 * dedup domains: bytes one account PUT are never referenced by another for naming their id,
 * and another account's uploads never make an upload fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Config } from '../config.ts'
import { migratedTestDb } from '../store/test/pg-harness.ts'
import type { FlowBackend } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  startApp,
  type TestApp,
  type TestDevice,
  type TestFile,
} from './harness.ts'
import { initUpload } from './possession.suite.ts'

const VARIANTS: [string, Partial<Config>][] = [
  ['per-account domain', {}],
  [
    'global domain',
    { dedupDomain: 'global', globalDomainSecret: Buffer.alloc(32, 7).toString('base64') },
  ],
]

interface Init {
  sessionId: string
  missing: number[]
  uploads: { index: number; url: string; headers: Record<string, string> }[]
  challenges?: { index: number }[]
}

const init = async (device: TestDevice, path: string, file: TestFile) =>
  (await initUpload(device, path, file)) as Init

async function putAll(session: Init, file: TestFile): Promise<void> {
  for (const u of session.uploads) {
    const body = file.bytes.get(file.manifest.chunks[u.index]!.id)
    const put = await fetch(u.url, { method: 'PUT', headers: u.headers, body })
    expect(put.status).toBe(200)
  }
}

function complete(device: TestDevice, sessionId: string) {
  return device.call({ method: 'POST', url: `/files/upload/${sessionId}/complete` })
}

for (const [variant, config] of VARIANTS) {
  describe(`chunk claims across accounts on Postgres, ${variant}`, () => {
    let backend: FlowBackend
    let t: TestApp
    let x: TestDevice
    let y: TestDevice
    beforeAll(async () => {
      backend = await migratedTestDb()
      t = await startApp({ listen: true, config, deps: { db: backend.db } })
      x = (await newAccount(t.app))[0]!
      y = (await newAccount(t.app))[0]!
    })
    afterAll(async () => {
      await t?.close()
      await backend?.teardown()
    })

    it('does not let an account reference bytes another account PUT before it completed', async () => {
      const file = makeFile([120, 80])
      const xs = await init(x, 'x.bin', file)
      await putAll(xs, file)
      // Y names X's chunk ids: it must upload (or prove) them itself, not inherit X's PUTs.
      const ys = await init(y, 'y.bin', file)
      expect(ys.missing).toEqual([0, 1])
      const claim = await complete(y, ys.sessionId)
      expect(claim.statusCode).toBe(409)
      expect(claim.json().error.code).toBe('INCOMPLETE_UPLOAD')
      // X's own upload is untouched by Y's attempt.
      const done = await complete(x, xs.sessionId)
      expect(done.statusCode, done.body).toBe(200)
    })

    it("lets an account finish an upload another account's stored copy got ahead of", async () => {
      const file = makeFile([64, 48])
      // X opens its session first; Y stores the same ciphertext and commits before X's PUTs.
      const xs = await init(x, 'late.bin', file)
      const ys = await init(y, 'early.bin', file)
      await putAll(ys, file)
      expect((await complete(y, ys.sessionId)).statusCode).toBe(200)
      await putAll(xs, file)
      const done = await complete(x, xs.sessionId)
      expect(done.statusCode, done.body).toBe(200)
      const dl = await x.call({ method: 'GET', url: `/files/${done.json().fileId}/download` })
      for (const c of dl.json().chunks as { id: string; url: string }[]) {
        const bytes = Buffer.from(await (await fetch(c.url)).arrayBuffer())
        expect(bytes.equals(Buffer.from(file.bytes.get(c.id)!))).toBe(true)
      }
    })

    it('lets an account upload a file another account stored pre-emptively', async () => {
      const file = makeFile([90])
      const ys = await init(y, 'first.bin', file)
      await putAll(ys, file)
      expect((await complete(y, ys.sessionId)).statusCode).toBe(200)
      // X is told to upload (own domain) or to prove (global domain): never a dead end.
      const xs = await init(x, 'mine.bin', file)
      if (config.dedupDomain === 'global') {
        expect(xs.missing).toEqual([])
        expect(xs.challenges?.map((c) => c.index)).toEqual([0])
      } else {
        expect(xs.missing).toEqual([0])
        await putAll(xs, file)
        const done = await complete(x, xs.sessionId)
        expect(done.statusCode, done.body).toBe(200)
      }
    })
  })
}
