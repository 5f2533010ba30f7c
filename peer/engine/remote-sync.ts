import { isCloudsyncError } from '../../protocol/errors.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { ServerMessage } from '../../protocol/schemas/ws.ts'
import type { Clock } from '../ports/clock.ts'
import type { CoordinatorApi, PushChannel } from '../ports/coordinator.ts'
import type { SyncIndex } from '../ports/sync-index.ts'
import type { ApplyOutcome, ChangeApplier } from './applier.ts'
import type { PathLocks } from './path-locks.ts'

export interface RemoteSyncDeps {
  api: CoordinatorApi
  push: PushChannel
  index: SyncIndex
  applier: ChangeApplier
  locks: PathLocks
  clock: Clock
  /** A change left a local edit in place: its path must be uploaded. */
  onLocalEditKept: (path: string) => void
  /** Other messages (pending uploads, device lists) for whoever wants them. */
  onMessage?: (message: ServerMessage) => void
  /** Awaited before a change is applied, and told after (the prefetcher's hooks). */
  beforeApply?: (change: Change) => Promise<void>
  afterApply?: (change: Change, outcome: ApplyOutcome) => Promise<void>
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
  /** Seconds a long poll waits while the push channel is down. */
  pollWaitSeconds?: number
}

export type RemoteCounters = Record<ApplyOutcome, number> & {
  reconnects: number
  /** Times the device found itself behind with nothing applying, and read the log again. */
  catchUps: number
}

/**
 * Brings the account's changes down, strictly in log order: over the push channel while
 * it is up, by long-polling `/sync/changes` while it is not, and always from the cursor
 * in the index, so a reconnect or a restart never skips nor repeats a change.
 */
export class RemoteSync {
  readonly counters: RemoteCounters = {
    written: 0,
    deleted: 0,
    moved: 0,
    'already-synced': 0,
    'kept-local-edit': 0,
    'refused-path': 0,
    reconnects: 0,
    catchUps: 0,
  }
  connected = false
  readonly #deps: RemoteSyncDeps
  /** The newest seq the coordinator has shown: in a page's head or a pushed change. */
  #head = 0
  /** One change applied at a time: a catch-up and the push channel may offer the same one. */
  #applying: Promise<void> = Promise.resolve()
  #busy = 0

  constructor(deps: RemoteSyncDeps) {
    this.#deps = deps
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { push, index, clock, log } = this.#deps
    let backoff = 250
    while (!signal.aborted) {
      try {
        await push.open(index.getCursor(), (m) => this.#onMessage(m, signal), signal)
        backoff = 250
      } catch (err) {
        if (signal.aborted) break
        log('warn', 'push channel failed', { error: (err as Error).message })
      } finally {
        this.connected = false
      }
      if (signal.aborted) break
      this.counters.reconnects++
      try {
        await this.pollOnce(signal, this.#deps.pollWaitSeconds ?? 20)
      } catch (err) {
        if (signal.aborted) break
        log('warn', 'change poll failed', { error: (err as Error).message })
        await clock.sleep(backoff, signal).catch(() => {})
        backoff = Math.min(backoff * 2, 10_000)
      }
    }
  }

  /** Applies every change after the cursor, long-polling up to `wait` seconds for the first. */
  async pollOnce(signal: AbortSignal, wait = 0): Promise<void> {
    for (;;) {
      const page = await this.#deps.api.changes(this.#deps.index.getCursor(), { wait, signal })
      this.noteHead(page.head ?? page.cursor)
      for (const change of page.changes) await this.applyInOrder(change, signal)
      if (!page.hasMore) return
      wait = 0
    }
  }

  async #onMessage(message: ServerMessage, signal: AbortSignal): Promise<void> {
    if (message.type === 'ready') this.connected = true
    else if (message.type === 'change') {
      this.noteHead(message.change.seq)
      await this.applyInOrder(message.change, signal)
    } else if (message.type === 'error')
      this.#deps.log('warn', 'coordinator error on the push channel', message.error)
    this.#deps.onMessage?.(message)
  }

  /**
   * Applies a change if it is the next one; reads the log to fill a gap first. A change
   * that cannot be applied now (its chunks unreachable) is retried; the cursor moves only
   * past changes that were applied.
   */
  async applyInOrder(change: Change, signal: AbortSignal): Promise<void> {
    const cursor = this.#deps.index.getCursor()
    if (change.seq <= cursor) return
    if (change.seq > cursor + 1) return this.pollOnce(signal)
    await this.#serially(async () => {
      if (change.seq !== this.#deps.index.getCursor() + 1) return
      await this.#applyNext(change, signal)
    })
  }

  /** Changes the coordinator holds beyond this device's cursor, as last seen. */
  get behind(): number {
    return Math.max(0, this.#head - this.#deps.index.getCursor())
  }

  /** Whether a change is being applied (or waits to be) right now. */
  get busy(): boolean {
    return this.#busy > 0
  }

  noteHead(head: number): void {
    this.#head = Math.max(this.#head, head)
  }

  /** Reads the log from the cursor now, outside the push channel's turn. */
  async catchUp(signal: AbortSignal): Promise<void> {
    this.counters.catchUps++
    await this.pollOnce(signal)
  }

  async #serially(fn: () => Promise<void>): Promise<void> {
    this.#busy++
    const run = this.#applying.then(fn).finally(() => this.#busy--)
    this.#applying = run.catch(() => {})
    return run
  }

  async #applyNext(change: Change, signal: AbortSignal): Promise<void> {
    const { index, locks, applier, clock } = this.#deps
    const paths = change.fromPath ? [change.path, change.fromPath] : [change.path]
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#deps.beforeApply?.(change)
        const outcome = await locks.with(paths, () => applier.apply(change, signal))
        await this.#deps.afterApply?.(change, outcome)
        this.counters[outcome]++
        if (outcome === 'kept-local-edit') this.#deps.onLocalEditKept(change.path)
        break
      } catch (err) {
        if (signal.aborted || attempt >= 5 || !isRetryable(err)) throw err
        await clock.sleep(Math.min(250 * 2 ** attempt, 5_000), signal)
      }
    }
    index.setCursor(change.seq)
  }
}

function isRetryable(err: unknown): boolean {
  return isCloudsyncError(err, 'UNAVAILABLE') || isCloudsyncError(err, 'BUSY')
}
