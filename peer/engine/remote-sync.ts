import { CloudsyncError } from '../../protocol/errors.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { ServerMessage } from '../../protocol/schemas/ws.ts'
import type { Clock } from '../ports/clock.ts'
import type { CoordinatorApi, PushChannel } from '../ports/coordinator.ts'
import type { SyncIndex } from '../ports/sync-index.ts'
import type { ApplyOutcome, ChangeApplier } from './applier.ts'
import { isRetryable, pathsOf, related } from './change-paths.ts'
import type { PathLocks } from './path-locks.ts'
import type { PauseGate } from './pause-gate.ts'
import {
  changeOf,
  readSnapshot,
  SNAPSHOT_BEHIND_CHANGES,
  startsFromSnapshot,
} from './snapshot-start.ts'
import { errorCode, type SyncProblems } from './sync-problems.ts'

export interface RemoteSyncDeps {
  api: CoordinatorApi
  push: PushChannel
  index: SyncIndex
  applier: ChangeApplier
  locks: PathLocks
  clock: Clock
  /** Where changes that cannot be applied are recorded, to be applied again later. */
  problems: SyncProblems
  /** A change left a local edit in place: its path must be uploaded. */
  onLocalEditKept: (path: string) => void
  /** Other messages (pending uploads, device lists) for whoever wants them. */
  onMessage?: (message: ServerMessage) => void
  /** Awaited before a change is applied, and told after (the prefetcher's hooks). */
  beforeApply?: (change: Change) => Promise<void>
  afterApply?: (change: Change, outcome: ApplyOutcome | 'skipped') => Promise<void>
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
  /** Seconds a long poll waits while the push channel is down. */
  pollWaitSeconds?: number
  /** How long after its last failure a skipped change is tried again (doubling, up to a max). */
  skippedRetryMs?: { first: number; max: number }
  /** Changes behind the head beyond which the device starts from a snapshot (snapshot-start.ts). */
  snapshotBehind?: number
  /** While paused, no change is applied: the log waits at the cursor. */
  gate?: PauseGate
}

export type RemoteCounters = Record<ApplyOutcome | 'skipped', number> & {
  reconnects: number
  /** Times the device found itself behind with nothing applying, and read the log again. */
  catchUps: number
  /** Times the device started from a snapshot of the account instead of its log. */
  snapshots: number
}

/**
 * Brings the account's changes down, strictly in log order: over the push channel while
 * it is up, by long-polling `/sync/changes` while it is not, and always from the cursor
 * in the index, so a reconnect or a restart never skips nor repeats a change.
 */
export class RemoteSync {
  readonly counters: RemoteCounters = {
    written: 0,
    confirmed: 0,
    deleted: 0,
    moved: 0,
    'already-synced': 0,
    'kept-local-edit': 0,
    'refused-path': 0,
    ignored: 0,
    skipped: 0,
    catchUps: 0,
    reconnects: 0,
    snapshots: 0,
  }
  connected = false
  /** When the push channel last came up, and why it last went down. */
  connectedSince: number | undefined
  lastPushError: string | undefined
  /**
   * The newest change of the account's log this device knows exists, and when it learnt
   * it: `status` compares it with the cursor ("behind by N changes").
   */
  head: { seq: number; at: number } | undefined
  /** The cursor the last snapshot brought the device to. */
  snapshotAt: number | undefined
  readonly #deps: RemoteSyncDeps
  /** One change applied at a time: the log's next one, or a skipped one tried again. */
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
      // Aborted once a `behind` answer's snapshot is applied: hello again from its cursor.
      const snapshotted = new AbortController()
      try {
        await push.open(
          index.getCursor(),
          (m) => this.#onMessage(m, signal, snapshotted),
          AbortSignal.any([signal, snapshotted.signal]),
          { replayAtMost: this.#deps.snapshotBehind ?? SNAPSHOT_BEHIND_CHANGES },
        )
        backoff = 250
      } catch (err) {
        if (signal.aborted) break
        if (!snapshotted.signal.aborted) {
          this.lastPushError = (err as Error).message
          log('warn', 'push channel failed', { error: (err as Error).message })
        }
      } finally {
        this.connected = false
        this.connectedSince = undefined
      }
      if (signal.aborted) break
      if (snapshotted.signal.aborted) continue
      this.counters.reconnects++
      try {
        await this.pollOnce(signal, this.#deps.pollWaitSeconds ?? 20)
        // Paused, a poll returns at once while changes wait: no spinning on it.
        if (this.#deps.gate?.paused) await clock.sleep(1_000, signal)
      } catch (err) {
        if (signal.aborted) break
        log('warn', 'change poll failed', { error: (err as Error).message })
        await clock.sleep(backoff, signal).catch(() => {})
        backoff = Math.min(backoff * 2, 10_000)
      }
    }
  }

  /** The log reaches at least `seq`. */
  noteHead(seq: number): void {
    if (seq > (this.head?.seq ?? -1)) this.head = { seq, at: this.#deps.clock.now() }
  }

  /** Applies every change after the cursor, long-polling up to `wait` seconds for the first. */
  async pollOnce(signal: AbortSignal, wait = 0): Promise<void> {
    for (;;) {
      const cursor = this.#deps.index.getCursor()
      const page = await this.#deps.api.changes(cursor, { wait, signal })
      this.noteHead(page.head ?? page.cursor)
      // Paused: the head is noted (status says how far behind), the changes are read again
      // on resume.
      if (this.#deps.gate?.paused) return
      if (page.head !== undefined && this.#far(cursor, page.head)) {
        await this.#startFromSnapshot(signal)
        wait = 0
        continue
      }
      for (const change of page.changes) await this.applyInOrder(change, signal)
      if (!page.hasMore) return
      wait = 0
    }
  }

  async #onMessage(
    message: ServerMessage,
    signal: AbortSignal,
    snapshotted?: AbortController,
  ): Promise<void> {
    if (message.type === 'behind') {
      this.noteHead(message.head)
      const gate = this.#deps.gate
      if (gate?.paused) {
        // Paused: the channel is up and status says how far behind; the snapshot waits for
        // the resume, then the device says hello again from its new cursor.
        this.connected = true
        this.connectedSince = this.#deps.clock.now()
        void gate
          .wait(signal)
          .then(() => this.#startFromSnapshot(signal))
          .then(() => snapshotted?.abort())
          .catch((err) => {
            if (!signal.aborted)
              this.#deps.log('info', 'could not start from a snapshot after the resume', {
                error: (err as Error).message,
              })
          })
      } else {
        await this.#startFromSnapshot(signal)
        snapshotted?.abort()
      }
    } else if (message.type === 'ready') {
      this.connected = true
      this.connectedSince = this.#deps.clock.now()
    } else if (message.type === 'change') {
      this.noteHead(message.change.seq)
      // Paused: not applied, and not waited for, so the channel's other messages still
      // come through; the log is read from the cursor on resume.
      if (!this.#deps.gate?.paused) await this.applyInOrder(message.change, signal)
    } else if (message.type === 'error')
      this.#deps.log('warn', 'coordinator error on the push channel', message.error)
    this.#deps.onMessage?.(message)
  }

  /**
   * Applies a change if it is the next one; reads the log to fill a gap first. A change
   * that cannot be applied now because a source is unreachable is retried, and the log
   * waits for it. One that cannot be applied for a reason of its own (a manifest that
   * fails verification, a full disk, a folder where its file goes) is skipped: recorded
   * in `problems`, applied again later, and the log goes on past it.
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

  /** Applies the skipped changes that are due again (all of them with `force`). */
  async retrySkipped(signal: AbortSignal, force = false): Promise<void> {
    await this.#serially(async () => {
      const now = this.#deps.clock.now()
      for (const problem of this.#deps.problems.list('skipped')) {
        if (force || now >= problem.lastAt + this.#retryDelay(problem.attempts))
          await this.#retry(problem.path, signal)
      }
    })
  }

  /** Changes the coordinator holds beyond this device's cursor, as last seen. */
  get behind(): number {
    return Math.max(0, (this.head?.seq ?? 0) - this.#deps.index.getCursor())
  }

  /** Whether a change is being applied (or waits to be) right now. */
  get busy(): boolean {
    return this.#busy > 0
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

  #far(cursor: number, head: number): boolean {
    return startsFromSnapshot(cursor, head, this.#deps.snapshotBehind)
  }

  /**
   * Brings the folder to a snapshot of the account at the head and the cursor to it. Each
   * file is applied as its change would be (a local edit is kept and uploaded, never
   * overwritten); deletions go last, so a file moved away still serves its chunks and a
   * file whose name a folder takes is gone before that folder is made.
   */
  async #startFromSnapshot(signal: AbortSignal): Promise<void> {
    await this.#serially(async () => {
      const { api, index, problems, log } = this.#deps
      const since = index.getCursor()
      if (!this.#far(since, this.head?.seq ?? 0)) return
      const held = new Map(index.listFiles().map((f) => [f.fileId, f.path]))
      const deletions: Change[] = []
      let files = 0
      const at = await readSnapshot(
        api,
        since,
        async (page) => {
          for (const file of page.files) {
            const change = changeOf(file, page.at, held.get(file.fileId))
            if (change?.kind === 'deleted') deletions.push(change)
            else if (change) {
              files++
              await this.#applyOne(change, signal)
              this.#supersede(change)
            }
          }
        },
        signal,
        held.size > 0,
      )
      for (const change of deletions) {
        await this.#applyOne(change, signal)
        this.#supersede(change)
      }
      if (at <= since) return
      this.snapshotAt = at
      index.setCursor(at)
      this.counters.snapshots++
      log('info', 'started from a snapshot of the account, not its log', {
        since,
        at,
        files,
        deleted: deletions.length,
      })
      // What waited for a deletion of this snapshot can go in now.
      for (const problem of problems.list('skipped'))
        if (problem.change?.seq === at) await this.#retry(problem.path, signal)
    })
  }

  async #applyNext(change: Change, signal: AbortSignal): Promise<void> {
    const { index, problems } = this.#deps
    await this.#applyOne(change, signal)
    index.setCursor(change.seq)
    this.#supersede(change)
    // A skipped change may have waited for this one (a file that had to go before a folder
    // of its name could be made, or the reverse): try those again at once.
    for (const problem of problems.list('skipped')) {
      if (
        problem.change?.seq !== change.seq &&
        pathsOf(change).some((p) => related(p, problem.path))
      )
        await this.#retry(problem.path, signal)
    }
  }

  /** A later change of a path supersedes the one skipped there. */
  #supersede(change: Change): void {
    const { problems } = this.#deps
    for (const path of pathsOf(change)) {
      const skipped = problems.get(path, 'skipped')
      if (skipped?.change && skipped.change.seq < change.seq) problems.clear(path, 'skipped')
    }
  }

  /**
   * Applies one change, retrying while a source is unreachable; one that cannot be applied
   * for a reason of its own is skipped (recorded in problems).
   */
  async #applyOne(change: Change, signal: AbortSignal): Promise<void> {
    const { clock } = this.#deps
    for (let attempt = 1; ; attempt++) {
      await this.#deps.gate?.wait(signal)
      try {
        await this.#deps.beforeApply?.(change)
        const outcome = await this.#apply(change, signal)
        await this.#deps.afterApply?.(change, outcome)
        break
      } catch (err) {
        if (signal.aborted) throw err
        if (isRetryable(err)) {
          if (attempt >= 5) throw err
          await clock.sleep(Math.min(250 * 2 ** attempt, 5_000), signal)
          continue
        }
        this.counters.skipped++
        this.#skip(change, err)
        await this.#deps.afterApply?.(change, 'skipped')
        break
      }
    }
  }

  async #apply(change: Change, signal: AbortSignal): Promise<ApplyOutcome> {
    const { locks, applier } = this.#deps
    const outcome = await locks.with(pathsOf(change), () => applier.apply(change, signal))
    this.counters[outcome]++
    if (outcome === 'kept-local-edit') {
      this.#deps.onLocalEditKept(change.path)
      // A local file never synced holds the path: skipped, so that the version is written
      // after all if that file goes before its upload (which would keep it as a conflict copy).
      if (!this.#deps.index.getFile(change.path))
        throw new CloudsyncError('CONFLICT', `${change.path}: held by a local file not synced yet`)
    }
    return outcome
  }

  /** Applies the change skipped at `path` now, if any (what held it there went). */
  async retryPath(path: string, signal: AbortSignal): Promise<void> {
    if (this.#deps.problems.get(path, 'skipped'))
      await this.#serially(() => this.#retry(path, signal))
  }

  async #retry(path: string, signal: AbortSignal): Promise<void> {
    const problem = this.#deps.problems.get(path, 'skipped')
    if (!problem?.change || this.#deps.gate?.paused) return
    // This device uploaded a file of its own there since: the coordinator weighed it
    // against the skipped version (a conflict copy), and the log tells the outcome.
    const held = this.#deps.index.getFile(path)
    if (held && problem.change.kind !== 'deleted' && held.fileId !== problem.change.fileId) {
      this.#deps.problems.clear(path, 'skipped')
      return
    }
    try {
      await this.#apply(problem.change, signal)
      this.#deps.problems.clear(path, 'skipped')
      this.#deps.log('info', 'applied a change skipped before', {
        path,
        seq: problem.change.seq,
      })
    } catch (err) {
      if (signal.aborted) throw err
      this.#skip(problem.change, err)
    }
  }

  #skip(change: Change, err: unknown): void {
    const reason = (err as Error).message
    const code = errorCode(err)
    const fresh = this.#deps.problems.set(change.path, 'skipped', { reason, code, change })
    if (fresh)
      this.#deps.log('warn', 'could not apply a remote change; skipped for now', {
        path: change.path,
        seq: change.seq,
        version: change.version,
        error: reason,
        ...(code !== undefined && { code }),
      })
  }

  #retryDelay(attempts: number): number {
    const { first, max } = this.#deps.skippedRetryMs ?? { first: 2_000, max: 300_000 }
    return Math.min(max, first * 2 ** Math.max(0, attempts - 1))
  }
}
