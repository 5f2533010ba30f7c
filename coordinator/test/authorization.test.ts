/** A device of account A can read, list, download, complete or change nothing of B. */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { upload } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  snapshot,
  startApp,
  type TestApp,
  type TestDevice,
} from './harness.ts'

let t: TestApp
let a: TestDevice
let b: TestDevice
let bFile: string
let bSession: string
beforeAll(async () => {
  t = await startApp({ listen: true })
  ;[a] = (await newAccount(t.app)) as [TestDevice]
  ;[b] = (await newAccount(t.app)) as [TestDevice]
  bFile = (await upload(b, 'secret.txt', makeFile([10]), null)).result.fileId
  const open = await b.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: { path: 'pending.txt', ...makeFile([10]).manifest, baseVersion: null },
  })
  bSession = open.json().sessionId
})
afterAll(() => t.close())

it.each([
  ['metadata', 'GET', () => `/files/${bFile}/metadata`, undefined],
  ['download', 'GET', () => `/files/${bFile}/download`, undefined],
  ['by-path', 'GET', () => '/files/by-path?path=secret.txt', undefined],
  ['session status', 'GET', () => `/files/upload/${bSession}`, undefined],
  ['complete', 'POST', () => `/files/upload/${bSession}/complete`, {}],
  ['delete', 'DELETE', () => `/files/${bFile}`, { baseVersion: 1 }],
  ['move', 'POST', () => `/files/${bFile}/move`, { to: 'mine.txt', baseVersion: 1 }],
])("A cannot %s B's things (404, nothing written)", async (_, method, url, payload) => {
  const before = await snapshot(t.app.db)
  const res = await a.call({ method: method as 'GET', url: url(), ...(payload && { payload }) })
  expect(res.statusCode).toBe(404)
  expect(res.json().error.code).toBe('NOT_FOUND')
  expect(await snapshot(t.app.db)).toEqual(before)
})

it("A's listings and change feed hold nothing of B", async () => {
  expect((await a.call({ method: 'GET', url: '/files' })).json().files).toEqual([])
  expect((await a.call({ method: 'GET', url: '/sync/changes?cursor=0' })).json().changes).toEqual(
    [],
  )
  const devices = (await a.call({ method: 'GET', url: '/devices' })).json().devices
  expect(devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([a.deviceId])
})

it('A uploading the same chunk ids as B still has to upload them', async () => {
  const meta = (await b.call({ method: 'GET', url: `/files/${bFile}/metadata` })).json()
  const res = await a.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: {
      path: 'claim.txt',
      size: meta.size,
      hash: meta.hash,
      chunks: meta.chunks,
      baseVersion: null,
    },
  })
  // Known to B's domain only: A gets an upload URL, not a free reference...
  expect(res.json().missing).toEqual([0])
  // ...and the bytes being in the blob store (B's) do not let A complete without them.
  const done = await a.call({
    method: 'POST',
    url: `/files/upload/${res.json().sessionId}/complete`,
  })
  expect(done.statusCode).toBe(409)
  expect(done.json().error.code).toBe('INCOMPLETE_UPLOAD')
})

it('in a global dedup domain, knowing another account’s chunk ids is not enough', async () => {
  const secret = Buffer.alloc(32, 7).toString('base64')
  const g = await startApp({
    listen: true,
    config: { dedupDomain: 'global', globalDomainSecret: secret },
  })
  try {
    const [owner] = await newAccount(g.app)
    const [thief] = await newAccount(g.app)
    expect(owner!.domain).toEqual({ kind: 'global', secret })
    const file = makeFile([10])
    await upload(owner!, 'mine.txt', file, null)
    const res = await thief!.call({
      method: 'POST',
      url: '/files/upload/init',
      payload: { path: 'stolen.txt', ...file.manifest, baseVersion: null },
    })
    // Not offered as missing (dedup), but challenged: the thief must prove it holds the bytes.
    expect(res.json().missing).toEqual([])
    expect(res.json().challenges).toEqual([expect.objectContaining({ index: 0 })])
    const done = await thief!.call({
      method: 'POST',
      url: `/files/upload/${res.json().sessionId}/complete`,
    })
    expect(done.json().error).toMatchObject({ code: 'FORBIDDEN', details: { index: 0 } })
  } finally {
    await g.close()
  }
})
