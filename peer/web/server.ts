import { timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { DeviceControls } from '../daemon/controls.ts'
import type { DaemonStatus } from '../daemon/status-file.ts'
import { checkedLimits } from '../limits/rate-text.ts'
import { type PageState, pageState } from './page-state.ts'
import { loadWebAddress, newWebToken, saveWebAddress, type WebAddress, webUrl } from './web-file.ts'

/** What the page reads and changes on the running daemon. */
export interface WebPageDeps {
  stateDir: string
  status: () => DaemonStatus
  controls: DeviceControls
  /** The account's latest changes up to `cursor` (the coordinator's log). */
  recentChanges: (cursor: number) => Promise<Change[]>
  /** How often the page is sent the state over its event stream. */
  intervalMs?: number
}

export interface WebPage {
  address: WebAddress
  url: string
  close(): Promise<void>
}

/** The files the page is made of: ours, and Preact and htm as their packages ship them. */
const FILES: Record<string, { url: string; type: string }> = {
  '/app.js': { url: new URL('./static/app.js', import.meta.url).href, type: 'text/javascript' },
  '/style.css': { url: new URL('./static/style.css', import.meta.url).href, type: 'text/css' },
  '/vendor/preact.mjs': { url: import.meta.resolve('preact'), type: 'text/javascript' },
  '/vendor/hooks.mjs': { url: import.meta.resolve('preact/hooks'), type: 'text/javascript' },
  '/vendor/htm.mjs': { url: import.meta.resolve('htm'), type: 'text/javascript' },
}
const INDEX = new URL('./static/index.html', import.meta.url)
const BODY_MAX = 4096
/** How often the recent changes are read again when the cursor has not moved. */
const RECENT_REFRESH_MS = 10_000

/**
 * The device's web page on 127.0.0.1, at the port kept in the state dir (a new one when it
 * is taken). Every request carries the token of web.json, or gets 403; the Host header must
 * name 127.0.0.1 or localhost, so a page elsewhere cannot reach it by rebinding a name.
 */
export async function startWebPage(deps: WebPageDeps): Promise<WebPage> {
  const saved = await loadWebAddress(deps.stateDir)
  const token = saved?.token ?? newWebToken()
  const page = new PageServer(deps, token)
  const port = await page.listen(saved?.port ?? 0).catch(() => page.listen(0))
  const address = { port, token }
  if (saved?.port !== port || saved.token !== token) await saveWebAddress(deps.stateDir, address)
  return { address, url: webUrl(address), close: () => page.close() }
}

class PageServer {
  readonly #deps: WebPageDeps
  readonly #token: Buffer
  readonly #server: Server
  readonly #clients = new Set<ServerResponse>()
  readonly #timer: NodeJS.Timeout
  readonly #unwatch: () => void
  #port = 0
  #recent: { cursor: number; at: number; changes: Change[] } = { cursor: -1, at: 0, changes: [] }

  constructor(deps: WebPageDeps, token: string) {
    this.#deps = deps
    this.#token = Buffer.from(token)
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: Error) => send(res, 500, { error: err.message }))
    })
    this.#timer = setInterval(() => void this.#broadcast(), deps.intervalMs ?? 1_000)
    this.#timer.unref()
    this.#unwatch = deps.controls.gate.onChange(() => void this.#broadcast())
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        this.#port = (this.#server.address() as AddressInfo).port
        resolve(this.#port)
      })
    })
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    this.#unwatch()
    for (const client of this.#clients) client.end()
    // A browser's keep-alive connections would hold close() open: cut them at once.
    const closed = new Promise<void>((done) => this.#server.close(() => done()))
    this.#server.closeAllConnections()
    await closed
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (!this.#allowed(req, url))
      return send(res, 403, { error: 'forbidden: open the address `cloudsync open` prints' })
    const route = `${req.method} ${url.pathname}`
    if (route === 'GET /') return this.#index(res, url.searchParams.get('token')!)
    if (req.method === 'GET' && FILES[url.pathname]) return serveFile(res, FILES[url.pathname]!)
    if (route === 'GET /api/state') return send(res, 200, await this.#state())
    if (route === 'GET /events') return this.#subscribe(res)
    if (route === 'POST /api/pause') await this.#deps.controls.pause()
    else if (route === 'POST /api/resume') await this.#deps.controls.resume()
    else if (route === 'POST /api/limits') {
      let limits: ReturnType<typeof checkedLimits>
      try {
        limits = checkedLimits(JSON.parse(await readBody(req)))
      } catch (err) {
        return send(res, 400, { error: (err as Error).message })
      }
      await this.#deps.controls.setLimits(limits)
    } else return send(res, 404, { error: `no ${route}` })
    const state = await this.#state()
    send(res, 200, state)
    this.#push(state)
  }

  #allowed(req: IncomingMessage, url: URL): boolean {
    const host = req.headers.host ?? ''
    if (host !== `127.0.0.1:${this.#port}` && host !== `localhost:${this.#port}`) return false
    const given = Buffer.from(url.searchParams.get('token') ?? '')
    return given.length === this.#token.length && timingSafeEqual(given, this.#token)
  }

  async #index(res: ServerResponse, token: string): Promise<void> {
    const html = (await readFile(INDEX, 'utf8')).replaceAll('{{TOKEN}}', encodeURIComponent(token))
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    })
    res.end(html)
  }

  /** Server-sent events: the whole state now, then on every tick and every change. */
  async #subscribe(res: ServerResponse): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    })
    this.#clients.add(res)
    res.once('close', () => this.#clients.delete(res))
    res.write(event(await this.#state()))
  }

  async #broadcast(): Promise<void> {
    if (this.#clients.size === 0) return
    this.#push(await this.#state().catch(() => undefined))
  }

  #push(state: PageState | undefined): void {
    if (!state) return
    for (const client of this.#clients) client.write(event(state))
  }

  async #state(): Promise<PageState> {
    const status = this.#deps.status()
    const now = Date.now()
    const recent = this.#recent
    if (recent.cursor !== status.cursor || now - recent.at > RECENT_REFRESH_MS) {
      // The coordinator unreachable: the last list stays, and is asked for again next time.
      const changes = await this.#deps.recentChanges(status.cursor).catch(() => recent.changes)
      this.#recent = { cursor: status.cursor, at: now, changes }
    }
    return pageState(status, this.#deps.controls.settings().limits, this.#recent.changes, now)
  }
}

const event = (state: PageState) => `event: state\ndata: ${JSON.stringify(state)}\n\n`

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end()
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

async function serveFile(res: ServerResponse, file: { url: string; type: string }) {
  const body = await readFile(fileURLToPath(file.url))
  res.writeHead(200, { 'content-type': `${file.type}; charset=utf-8`, 'cache-control': 'no-cache' })
  res.end(body)
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const part of req as AsyncIterable<Buffer>) {
    text += part.toString('utf8')
    if (text.length > BODY_MAX) throw new RangeError('request body too large')
  }
  return text
}
