/**
 * The two sides of the fault tests (faults.process.test.ts): a device that follows the
 * account's log over a WebSocket as a real one does (hello with its cursor, a gap read from
 * `/sync/changes`, another instance when its socket ends), and a writer that uploads small
 * files through the instances in turn, retrying on another instance on any failure.
 */
import type { Change } from '../../protocol/schemas/sync.ts'
import type { TestFile } from './harness.ts'
import { makeFile } from './harness.ts'
import { type HttpDevice, request } from './process-harness.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** A writer gives up on one file after this long (every loop here is bounded). */
const UPLOAD_DEADLINE_MS = 60_000

export class FaultDevice {
  cursor = 0
  readonly seen: number[] = []
  /** When each path's change arrived here. */
  readonly arrivedAt = new Map<string, number>()
  readonly #credential: string
  readonly #urls: string[]
  #next = 0
  #stopped = false
  #socket: WebSocket | undefined

  constructor(credential: string, urls: string[]) {
    this.#credential = credential
    this.#urls = [...urls]
  }

  addUrl(url: string): void {
    if (!this.#urls.includes(url)) this.#urls.push(url)
  }

  start(): void {
    void this.#loop()
  }

  stop(): void {
    this.#stopped = true
    this.#socket?.close()
  }

  /** The largest delay from a commit's answer (at `since` or later) to its arrival here. */
  maxDelayMs(committedAt: ReadonlyMap<string, number>, since = 0): number {
    let max = 0
    for (const [path, at] of this.arrivedAt) {
      const committed = committedAt.get(path)
      if (committed !== undefined && committed >= since) max = Math.max(max, at - committed)
    }
    return max
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const url = this.#urls[this.#next % this.#urls.length]!
      await this.#session(url)
      if (this.#stopped) break
      this.#next++
      await sleep(200)
    }
  }

  #take(change: Change): void {
    if (change.seq !== this.cursor + 1) return
    this.seen.push(change.seq)
    this.cursor = change.seq
    this.arrivedAt.set(change.path, Date.now())
  }

  async #fillGap(url: string): Promise<void> {
    const page = await request(
      `${url}/sync/changes?cursor=${this.cursor}&limit=1000`,
      'GET',
      undefined,
      this.#credential,
    )
    if (page.status === 200) for (const c of page.body.changes as Change[]) this.#take(c)
  }

  /** One socket's life: resolves when it closes or cannot open. */
  #session(url: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/sync/ws`, {
        headers: { authorization: `Bearer ${this.#credential}` },
      } as never)
      this.#socket = ws
      let chain = Promise.resolve()
      ws.addEventListener('open', () =>
        ws.send(JSON.stringify({ type: 'hello', cursor: this.cursor })),
      )
      ws.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data))
        if (message.type !== 'change') return
        chain = chain.then(async () => {
          if (message.change.seq > this.cursor + 1) await this.#fillGap(url).catch(() => {})
          this.#take(message.change)
        })
      })
      ws.addEventListener('close', () => resolve())
      ws.addEventListener('error', () => resolve())
    })
  }
}

export class Workload {
  /** When the writer got each path's commit answer. */
  readonly committedAt = new Map<string, number>()
  /** Every non-2xx status the writer met. */
  readonly statuses = new Set<number>()
  /** Successful uploads (init + PUT + complete on one instance): when, and how long. */
  readonly uploads: { at: number; ms: number }[] = []
  readonly #writer: HttpDevice
  readonly #urls: () => string[]
  #turn = 0
  #count = 0
  #running: Promise<void> | undefined
  #paused = true

  constructor(writer: HttpDevice, urls: () => string[]) {
    this.#writer = writer
    this.#urls = urls
  }

  start(): void {
    if (this.#running) return
    this.#paused = false
    this.#running = (async () => {
      while (!this.#paused) {
        await this.uploadOnce(`w/${++this.#count}.txt`, makeFile([64]))
        await sleep(150)
      }
    })()
  }

  async pause(): Promise<void> {
    this.#paused = true
    await this.#running
    this.#running = undefined
  }

  stop(): Promise<void> {
    return this.pause()
  }

  /** init, PUT, complete on one instance; on any failure, again on the next. */
  async uploadOnce(path: string, file: TestFile): Promise<{ path: string }> {
    const deadline = Date.now() + UPLOAD_DEADLINE_MS
    for (;;) {
      const urls = this.#urls()
      const base = urls[this.#turn++ % urls.length]!
      try {
        const started = Date.now()
        const result = await this.#upload(base, path, file)
        this.committedAt.set(path, Date.now())
        this.uploads.push({ at: started, ms: Date.now() - started })
        return result
      } catch (err) {
        if (Date.now() > deadline) throw err
        await sleep(200)
      }
    }
  }

  async #upload(base: string, path: string, file: TestFile): Promise<{ path: string }> {
    const call = async (method: string, route: string, body?: unknown) => {
      const answer = await this.#writer.call(base, method, route, body)
      if (answer.status >= 300) {
        this.statuses.add(answer.status)
        throw new Error(`${method} ${route}: ${answer.status}`)
      }
      return answer.body
    }
    const init = await call('POST', '/files/upload/init', {
      path,
      ...file.manifest,
      baseVersion: null,
    })
    for (const u of init.uploads as { index: number; url: string; headers: object }[]) {
      const bytes = file.bytes.get(file.manifest.chunks[u.index]!.id)
      const put = await fetch(u.url, { method: 'PUT', headers: u.headers as never, body: bytes })
      if (!put.ok) throw new Error(`PUT ${put.status}`)
    }
    return call('POST', `/files/upload/${init.sessionId}/complete`)
  }

  /** The account's last change number, read through any instance that answers. */
  async lastSeq(): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const base = this.#urls()[attempt % this.#urls().length]!
      let cursor = 0
      try {
        for (;;) {
          const page = await this.#writer.call(
            base,
            'GET',
            `/sync/changes?cursor=${cursor}&limit=1000`,
          )
          if (page.status !== 200) throw new Error(String(page.status))
          cursor = page.body.cursor
          if (!page.body.hasMore) return cursor
        }
      } catch {
        await sleep(200)
      }
    }
    throw new Error('no instance answered /sync/changes')
  }
}
