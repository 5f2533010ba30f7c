/**
 * A dependency that is down is a 503 naming it, on every route, never a 500: the app runs
 * on a private Postgres (stopped and started by the test) and on s3rver (closed and
 * reopened on the same port). Starting an upload does not need the blob store.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, s3rverConfig, startApp, type TestApp } from './harness.ts'
import {
  type PrivateService,
  privateServicesAvailable,
  startPrivatePostgres,
} from './private-services.ts'

const available = privateServicesAvailable()

describe.skipIf(!available)('Postgres down', () => {
  let postgres: PrivateService
  let t: TestApp
  beforeAll(async () => {
    postgres = await startPrivatePostgres()
    t = await startApp({ listen: true, config: { databaseUrl: postgres.url } })
  }, 60_000)
  afterAll(async () => {
    await t?.close()
    await postgres?.destroy()
  })

  it('answers 503 UNAVAILABLE naming Postgres on every route, and serves again once it is back', async () => {
    const [laptop] = await newAccount(t.app, ['laptop'])
    const { result } = await upload(laptop!, 'a.txt', makeFile([64]), null)
    const file = makeFile([32])
    const routes = [
      { method: 'GET', url: '/devices' },
      { method: 'GET', url: '/sync/changes?cursor=0' },
      { method: 'POST', url: '/sync/notify', payload: { paths: ['a.txt'] } },
      { method: 'GET', url: `/files/${result.fileId}/metadata` },
      { method: 'GET', url: `/files/${result.fileId}/download` },
      { method: 'GET', url: '/files' },
      {
        method: 'POST',
        url: '/files/upload/init',
        payload: { path: 'b.txt', ...file.manifest, baseVersion: null },
      },
      { method: 'POST', url: '/devices/invite' },
    ] as const
    await postgres.stop()
    try {
      for (const route of routes) {
        const res = await laptop!.call(route)
        expect(res.statusCode, `${route.method} ${route.url}: ${res.body}`).toBe(503)
        expect(res.json().error.code).toBe('UNAVAILABLE')
        expect(res.json().error.message).toMatch(/Postgres|backend/)
      }
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' })
      expect(ready.statusCode).toBe(503)
    } finally {
      await postgres.start()
    }
    for (const route of routes) {
      const res = await laptop!.call(route)
      expect(res.statusCode, `${route.method} ${route.url}: ${res.body}`).toBeLessThan(300)
    }
  }, 60_000)
})

describe('blob store down', () => {
  const BUCKET = 'cloudsync-down'
  let s3: S3rver
  let s3Dir: string
  let port: number
  let t: TestApp
  const open = async (at = 0) => {
    s3 = new S3rver({
      address: '127.0.0.1',
      port: at,
      directory: s3Dir,
      silent: true,
      configureBuckets: [{ name: BUCKET }],
    })
    port = (await s3.run()).port
  }
  beforeAll(async () => {
    s3Dir = await mkdtemp(join(tmpdir(), 'cloudsync-s3rver-'))
    await open()
    t = await startApp({ listen: true, config: { s3: s3rverConfig(port, BUCKET) } })
  })
  afterAll(async () => {
    await t?.close()
    await s3?.close()
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true })
  })

  it('starts an upload without it, answers 503 naming S3 at complete, and completes once it is back', async () => {
    const [laptop] = await newAccount(t.app, ['laptop'])
    const file = makeFile([100, 200])
    await s3.close()
    const init = await laptop!.call({
      method: 'POST',
      url: '/files/upload/init',
      payload: { path: 'c.txt', ...file.manifest, baseVersion: null },
    })
    expect(init.statusCode, init.body).toBe(201)
    const { sessionId, uploads, missing } = init.json()
    expect(missing).toEqual([0, 1])
    const complete = () =>
      laptop!.call({ method: 'POST', url: `/files/upload/${sessionId}/complete` })
    const down = await complete()
    expect(down.statusCode, down.body).toBe(503)
    expect(down.json().error).toMatchObject({ code: 'UNAVAILABLE' })
    expect(down.json().error.message).toMatch(/S3/)

    await open(port)
    for (const u of uploads as { index: number; url: string; headers: Record<string, string> }[]) {
      const id = file.manifest.chunks[u.index]!.id
      const put = await fetch(u.url, {
        method: 'PUT',
        headers: u.headers,
        body: file.bytes.get(id),
      })
      expect(put.status).toBe(200)
    }
    const done = await complete()
    expect(done.statusCode, done.body).toBe(200)
    // And the same file again: its chunks are found now.
    expect((await upload(laptop!, 'd.txt', file, null)).missing).toEqual([])
  })
})
