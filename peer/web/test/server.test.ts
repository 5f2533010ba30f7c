import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceControls } from '../../daemon/controls.ts'
import type { DaemonStatus } from '../../daemon/status-file.ts'
import type { PageState } from '../page-state.ts'
import { startWebPage, type WebPage } from '../server.ts'
import { loadWebAddress } from '../web-file.ts'

const dir = await mkdtemp(join(tmpdir(), 'cloudsync-web-'))
let controls: DeviceControls
let page: WebPage

/** A status as the daemon writes it: the page reads only this and the controls. */
const status = (): DaemonStatus => ({
  pid: process.pid,
  deviceId: 'dev-b',
  name: 'b',
  startedAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  connected: true,
  cursor: 3,
  behind: 0,
  pendingPaths: 0,
  pendingUploads: 0,
  paused: controls.paused,
  devices: [{ name: 'a', online: true, deviceId: 'dev-a', lan: true }],
  uploads: {},
  local: {},
  remote: {},
  sources: { swarm: { chunks: 1, bytes: 10, failures: 0 } },
  prefetch: {},
  addresses: [],
  problems: [],
  problemCount: 0,
})

beforeAll(async () => {
  controls = await DeviceControls.load(dir)
  page = await startWebPage({ stateDir: dir, status, controls, recentChanges: async () => [] })
})
afterAll(async () => {
  await page?.close()
  await rm(dir, { recursive: true, force: true })
})

const json = async (res: Response) => (await res.json()) as PageState & { error?: string }

const at = (path: string, token = page.address.token) =>
  `http://127.0.0.1:${page.address.port}${path}?token=${token}`

describe('the web page server', () => {
  it('keeps its port and token in web.json, and prints them as the URL', async () => {
    expect(await loadWebAddress(dir)).toEqual(page.address)
    expect(page.url).toBe(`http://127.0.0.1:${page.address.port}/?token=${page.address.token}`)
  })

  it('answers 403 to a request without the right token, on every route', async () => {
    for (const path of ['/', '/app.js', '/vendor/preact.mjs', '/api/state', '/events']) {
      expect((await fetch(`http://127.0.0.1:${page.address.port}${path}`)).status).toBe(403)
      expect((await fetch(at(path, 'x'.repeat(32)))).status).toBe(403)
    }
    const posted = await fetch(at('/api/pause', 'nope'), { method: 'POST' })
    expect(posted.status).toBe(403)
    expect(controls.paused).toBe(false)
  })

  it('answers 403 to a Host that is not 127.0.0.1 or localhost (DNS rebinding)', async () => {
    const status = await new Promise<number>((done, fail) => {
      const req = request(at('/api/state'), {
        headers: { host: `evil.example:${page.address.port}` },
      })
      req.once('response', (res) => {
        res.resume()
        done(res.statusCode ?? 0)
      })
      req.once('error', fail)
      req.end()
    })
    expect(status).toBe(403)
  })

  it('serves the page, its script and Preact with the token', async () => {
    const html = await (await fetch(at('/'))).text()
    expect(html).toContain(`/app.js?token=${page.address.token}`)
    expect((await fetch(at('/vendor/hooks.mjs'))).headers.get('content-type')).toMatch(/javascript/)
  })

  it('pauses, resumes and sets limits; bad limits change nothing', async () => {
    const paused = await json(await fetch(at('/api/pause'), { method: 'POST' }))
    expect(paused.folder.label).toBe('paused')
    expect(JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')).paused).toBe(true)
    const resumed = await json(await fetch(at('/api/resume'), { method: 'POST' }))
    expect(resumed.folder.label).toBe('up to date')
    const set = await fetch(at('/api/limits'), { method: 'POST', body: '{"cloudUp":"5M"}' })
    expect((await json(set)).limits.cloudUp).toBe(5 * 1024 * 1024)
    const bad = await fetch(at('/api/limits'), { method: 'POST', body: '{"cloudUp":"fast"}' })
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toMatch(/not a rate/)
    expect(controls.limits.cloudUp.rate).toBe(5 * 1024 * 1024)
  })

  it('streams the state as server-sent events, at once on a pause', async () => {
    const res = await fetch(at('/events'))
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    const first = (await reader.read()).value!
    expect(first).toMatch(/^event: state\ndata: /)
    await controls.pause()
    let text = ''
    while (!text.includes('"paused":true')) text += (await reader.read()).value
    await reader.cancel()
    await controls.resume()
  })
})
