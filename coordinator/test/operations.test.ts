import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../config.ts'
import { newAccount, startApp, type TestApp } from './harness.ts'

let t: TestApp
beforeAll(async () => {
  t = await startApp()
})
afterAll(() => t.close())

describe('operations', () => {
  it('answers /healthz and /readyz with each backend checked', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      status: 'ok',
    })
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json().checks).toEqual({ store: 'ok', bus: 'ok', blobs: 'ok' })
  })

  it('counts requests by route pattern in /metrics', async () => {
    const [device] = await newAccount(t.app)
    await device!.call({
      method: 'GET',
      url: '/files/00000000-0000-4000-8000-000000000000/metadata',
    })
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(text).toContain(
      'cloudsync_http_requests_total{method="GET",route="/files/:fileId/metadata",status="404"} 1',
    )
    expect(text).toContain('cloudsync_commits_total')
  })

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/devices',
        '/files/upload/init',
        '/files/{fileId}/download',
        '/sync/changes',
      ]),
    )
    const init = doc.paths['/files/upload/init'].post
    expect(init.requestBody.content['application/json'].schema.required).toContain('chunks')
  })

  it('answers unknown routes with the error body', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/nope' })
    expect(res.statusCode).toBe(404)
    expect(res.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'No route GET /nope' })
  })
})

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({ host: '127.0.0.1', port: 0, dedupDomain: 'account' })
    expect(c.limits.maxFileSize).toBe(64 * 1024 ** 3)
    expect(loadConfig({}, { port: 8080 }).port).toBe(8080)
  })

  it('reads S3 and limits from the environment', () => {
    const c = loadConfig({
      S3_BUCKET: 'b',
      S3_FORCE_PATH_STYLE: 'true',
      MAX_CHUNKS: '10',
      PORT: '9000',
    })
    expect(c.s3).toMatchObject({ bucket: 'b', forcePathStyle: true, region: 'us-east-1' })
    expect(c.limits.maxChunks).toBe(10)
    expect(c.port).toBe(9000)
  })

  it('lists every problem at once', () => {
    let error: unknown
    try {
      loadConfig({
        PORT: '-1',
        DEDUP_DOMAIN: 'galaxy',
        DATABASE_URL: 'not a url',
        MAX_FILE_SIZE: '1e9',
      })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems.join('\n')
    expect(problems).toMatch(/PORT="-1"/)
    expect(problems).toMatch(/DEDUP_DOMAIN="galaxy" must be one of account, global/)
    expect(problems).toMatch(/DATABASE_URL="not a url" is not a URL/)
    expect(problems).toMatch(/MAX_FILE_SIZE="1e9"/)
  })

  it('requires a secret for the global dedup domain', () => {
    expect(() => loadConfig({ DEDUP_DOMAIN: 'global' })).toThrow(/GLOBAL_DOMAIN_SECRET/)
  })
})
