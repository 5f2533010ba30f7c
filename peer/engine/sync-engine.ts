import { isCloudsyncError } from '../../protocol/errors.ts'
import type { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { PendingMessage, ServerMessage } from '../../protocol/schemas/ws.ts'
import type { ChunkSource } from '../chunk-sources/chunk-source.ts'
import { ChunkFetcher } from '../chunk-sources/fetcher.ts'
import { firstProvider } from '../chunk-sources/served-chunks.ts'
import type { Clock } from '../ports/clock.ts'
import type { CoordinatorApi, PushChannel } from '../ports/coordinator.ts'
import { type SyncFileSystem, sameStat, type TempFile } from '../ports/file-system.ts'
import type { SyncIndex } from '../ports/sync-index.ts'
import type { FolderWatcher } from '../ports/watcher.ts'
import type { ChunkProvider } from '../swarm/chunk-service.ts'
import { trace } from '../trace.ts'
import { ChangeApplier } from './applier.ts'
import { ClashMover } from './clash-mover.ts'
import { withFolderMarkers } from './folders.ts'
import { HeadWatch } from './head-watch.ts'
import { IGNORE_FILE, IgnoreRules } from './ignore-rules.ts'
import { IgnoredPaths } from './ignored-paths.ts'
import { LocalSync } from './local-sync.ts'
import { PathLocks } from './path-locks.ts'
import type { PauseGate } from './pause-gate.ts'
import { Prefetcher } from './prefetcher.ts'
import { ProvisionalFiles } from './provisional.ts'
import { RemoteSync } from './remote-sync.ts'
import { SyncProblems } from './sync-problems.ts'
import { Takeover } from './takeover.ts'
import { Uploader } from './uploader.ts'

export type Log = (level: 'info' | 'warn', message: string, fields?: object) => void

/** Everything the sync logic touches, injected: production adapters or simulated ones. */
export interface SyncEngineDeps {
  fs: SyncFileSystem
  watcher: FolderWatcher
  api: CoordinatorApi
  push: PushChannel
  index: SyncIndex
  clock: Clock
  secret: Uint8Array
  pipeline: ChunkPipeline
  /** Chunks in the device's own files. */
  localSource: ChunkSource
  /** Chunks from the account's other devices, when the swarm runs. */
  swarmSource?: ChunkSource
  /** Whether an online peer may pull this device's uploads (the swarm knows one). */
  peersMayPull?: () => boolean
  /**
   * This device's id. With a swarm, it turns on streaming sync: other devices' uploads are
   * prefetched from them while they run (its own `pending` notices are not).
   */
  deviceId?: string
  /** This device's name, in the conflict copies it makes itself (a local folder moved aside). */
  deviceName?: string
  /** Chunks of one file version from the cloud (presigned URLs). */
  cloudSourceFor: (change: Change) => ChunkSource
  retry: <T>(call: () => Promise<T>) => Promise<T>
  onMessage?: (message: ServerMessage) => void
  log?: Log
  /** How often the whole folder is compared with the index, to catch missed events. */
  rescanIntervalMs?: number
  pollWaitSeconds?: number
  /** How soon a skipped remote change is applied again (doubling up to `max`). */
  skippedRetryMs?: { first: number; max: number }
  /** How often a live device compares its cursor with the coordinator's head. */
  headCheckMs?: number
  /** Changes behind the head beyond which the device starts from a snapshot. */
  snapshotBehind?: number
  /** Pause and resume (pause-gate.ts); never paused without one. */
  gate?: PauseGate
}

/**
 * The device's sync loop: local changes up (watcher, coalesced, plus a periodic rescan),
 * remote changes down (push, long-poll fallback), uploads resumed after a restart.
 */
export class SyncEngine {
  readonly uploader: Uploader
  readonly fetcher = new ChunkFetcher()
  readonly local: LocalSync
  readonly remote: RemoteSync
  readonly prefetcher: Prefetcher | undefined
  /**
   * Chunks this engine can serve to peers besides the device's synced files: the files it
   * is uploading (streaming sync), then what it prefetched of another device's upload.
   */
  readonly serving: ChunkProvider
  /** Paths that cannot be synced now, and why. */
  readonly problems: SyncProblems
  /** The defaults and `.cloudsyncignore`: paths never sent nor received. */
  readonly ignoreRules: IgnoreRules
  /** What the rules keep out of sync right now, for `status --verbose`. */
  readonly ignored = new IgnoredPaths()
  /** Other devices' versions placed here ahead of their commit (docs/LAN-FIRST.md). */
  readonly provisional: ProvisionalFiles
  /** Finishes the uploads of placed versions whose uploader went offline. */
  readonly takeover: Takeover
  readonly #locks: PathLocks
  readonly #headWatch: HeadWatch
  readonly #deps: SyncEngineDeps
  readonly #log: Log
  readonly #dirty = new Set<string>()
  readonly #stop = new AbortController()
  #draining: Promise<void> | undefined
  #tasks: Promise<unknown>[] = []

  constructor(deps: SyncEngineDeps) {
    this.#deps = deps
    this.#log = deps.log ?? (() => {})
    const locks = new PathLocks()
    this.#locks = locks
    const now = () => deps.clock.now()
    const provisional = new ProvisionalFiles(deps)
    this.provisional = provisional
    this.takeover = new Takeover({ ...deps, provisional, log: this.#log })
    this.problems = new SyncProblems({
      now,
      store: {
        load: () => deps.index.getSkippedChanges(),
        save: (changes) => deps.index.setSkippedChanges(changes),
      },
    })
    const problems = this.problems
    const rules = new IgnoreRules(deps.fs)
    this.ignoreRules = rules
    const ignores = (path: string) => rules.ignores(path)
    this.uploader = new Uploader({
      ...deps,
      now,
      sleep: (ms, signal) => deps.clock.sleep(ms, signal),
    })
    this.local = new LocalSync({
      ...deps,
      uploader: this.uploader,
      locks,
      provisional,
      problems,
      ignores,
      onIgnored: (path, present) => this.ignored.note(path, present),
      onUnsyncedGone: (path) =>
        void this.#guard('held change', this.remote.retryPath(path, this.#stop.signal)),
      log: this.#log,
      now,
    })
    const prefetcher =
      deps.swarmSource && deps.deviceId !== undefined
        ? new Prefetcher({
            ...deps,
            swarm: deps.swarmSource,
            deviceId: deps.deviceId,
            fetcher: this.fetcher,
            log: this.#log,
            now,
            place: (notice, temp, signal) => this.#place(notice, temp, signal),
          })
        : undefined
    this.prefetcher = prefetcher
    this.serving = firstProvider([this.uploader.uploads, prefetcher, provisional])
    const applier = new ChangeApplier({
      ...deps,
      fetcher: this.fetcher,
      ignores,
      log: this.#log,
      clashes: new ClashMover({
        ...deps,
        locks,
        deviceName: deps.deviceName ?? '',
        now,
        log: this.#log,
      }),
      sourcesFor: (change) => [
        deps.localSource,
        ...(deps.swarmSource ? [deps.swarmSource] : []),
        deps.cloudSourceFor(change),
      ],
      ...(prefetcher && { staged: (change: Change) => prefetcher.adopt(change) }),
      provisional,
    })
    this.remote = new RemoteSync({
      ...deps,
      applier,
      locks,
      problems,
      log: this.#log,
      onLocalEditKept: (path) => this.markDirty([path]),
      onMessage: (message) => {
        if (message.type === 'pending') {
          if (!deps.gate?.paused) prefetcher?.onPending(message)
        } else if (message.type === 'pending-expired') {
          void prefetcher?.onPendingExpired(message.sessionId)
          this.#abandoned(message.sessionId)
        } else if (message.type === 'devices') {
          // Paused, this device uploads nothing, on its own behalf or another's.
          if (!deps.gate?.paused) this.takeover.onDevices(message.devices, this.#stop.signal)
        } else if (message.type === 'ready' && !deps.gate?.paused)
          void this.#catchUpPending().catch((err) => {
            if (!this.#stop.signal.aborted)
              this.#log('info', 'could not read the pending uploads', {
                error: (err as Error).message,
              })
          })
        deps.onMessage?.(message)
      },
      ...(prefetcher && { beforeApply: (change) => prefetcher.settle(change) }),
      afterApply: async (change) => {
        await prefetcher?.release(change)
        // New rules from another device apply before the next change does.
        if (change.path === IGNORE_FILE && (await rules.refresh())) await this.#rulesChanged()
      },
    })
    this.#headWatch = new HeadWatch({
      ...deps,
      remote: this.remote,
      log: this.#log,
      ...(deps.headCheckMs !== undefined && { intervalMs: deps.headCheckMs }),
    })
  }

  async start(): Promise<void> {
    const signal = this.#stop.signal
    await this.ignoreRules.refresh()
    this.#logRulesError()
    // Paused: the rescan below queues unfinished uploads, settled after the resume.
    if (!this.#deps.gate?.paused) await this.#resumeUploads()
    await this.#deps.watcher.start((paths) => this.markDirty(withFolderMarkers(paths)))
    await this.rescan()
    // Changes that came while paused were noted, not applied: read them from the log now.
    const unwatch = this.#deps.gate?.onChange((paused) => {
      if (!paused && !signal.aborted) void this.#guard('catch up', this.remote.catchUp(signal))
    })
    if (unwatch) signal.addEventListener('abort', unwatch, { once: true })
    this.#tasks.push(
      this.#guard('remote sync', this.remote.run(signal)),
      this.#guard('head watch', this.#headWatch.run(signal)),
      this.#guard('rescan', this.#rescanLoop(signal)),
      this.#guard('skipped changes', this.#skippedLoop(signal)),
    )
  }

  async stop(): Promise<void> {
    this.#stop.abort(new Error('sync engine stopped'))
    await this.#deps.watcher.stop()
    await Promise.allSettled([...this.#tasks, this.#draining])
    await this.prefetcher?.close()
    await this.takeover.settled()
  }

  /**
   * Puts another device's fully prefetched pending version in place ahead of its commit,
   * when it is based on what this device has at its path (docs/LAN-FIRST.md "Placement"):
   * the base version unedited, nothing for a new file, or an earlier placed version of the
   * same base (the uploader superseded it). Anything else waits for the commit and the
   * usual rules.
   */
  async #place(notice: PendingMessage, temp: TempFile, signal: AbortSignal): Promise<boolean> {
    const { index, fs, clock } = this.#deps
    const { path, base } = notice
    // A coordinator that does not say what the upload is based on: wait for the commit.
    if (base === undefined) return false
    // An ignored path is neither sent nor received, placed ahead of its commit or not.
    if (this.ignoreRules.ignores(path)) return false
    return this.#locks.with([path], async () => {
      if (signal.aborted || this.#stop.signal.aborted || index.getUpload(path)) return false
      const entry = index.getFile(path)
      const placed = this.provisional.get(path)
      const local = await fs.stat(path)
      const onBase = placed
        ? sameStat(local, placed.stat) &&
          placed.base?.version === base?.version &&
          placed.base?.fileId === base?.fileId
        : base === null
          ? !entry && !local
          : entry !== undefined &&
            entry.version === base.version &&
            (base.fileId === null || entry.fileId === base.fileId) &&
            sameStat(local, entry.stat)
      if (!onBase) return false
      const stat = await temp.commit(path, local ?? 'absent')
      if (!stat) return false
      const file = {
        path,
        sessionId: notice.sessionId,
        deviceId: notice.deviceId,
        base,
        manifest: notice.manifest,
        stat,
        placedAt: clock.now(),
      }
      this.provisional.put(file)
      trace('placed', { path })
      this.#log('info', 'placed an upload ahead of its commit', { path, from: notice.deviceId })
      this.takeover.check(file, this.#stop.signal)
      return true
    })
  }

  /**
   * On (re)connecting: uploads that began while this device was away are pulled too, and
   * placed versions whose session ended meanwhile without a commit are settled (rule 10).
   */
  async #catchUpPending(): Promise<void> {
    const { api, retry } = this.#deps
    const signal = this.#stop.signal
    // Without a swarm there is nothing to pull, and nothing placed to settle.
    if (!this.prefetcher && this.provisional.list().length === 0) return
    const { uploads } = await retry(() => api.pendingUploads(signal))
    for (const u of uploads) {
      const manifest = { size: u.size, hash: u.hash, chunks: u.chunks }
      const { sessionId, path, deviceId, expiresAt, base } = u
      this.prefetcher?.onPending({
        type: 'pending',
        sessionId,
        path,
        deviceId,
        manifest,
        expiresAt,
        base,
      })
    }
    const open = new Set(uploads.map((u) => u.sessionId))
    for (const file of this.provisional.list()) {
      if (open.has(file.sessionId)) continue
      const status = await retry(() => api.uploadStatus(file.sessionId, signal)).catch((err) => {
        if (isCloudsyncError(err, 'NOT_FOUND')) return undefined
        throw err
      })
      // Committed: its change, read from the log, confirms the placed file.
      if (!status || status.state === 'expired') this.#abandoned(file.sessionId)
    }
  }

  /**
   * A placed version's session expired uncommitted and nobody finished it: the file stays,
   * and goes up as this device's edit on the same base (nothing is lost).
   */
  #abandoned(sessionId: string): void {
    for (const file of this.provisional.list()) {
      if (file.sessionId !== sessionId) continue
      this.provisional.drop(file.path)
      this.markDirty([file.path])
    }
  }

  /** Paths that may have changed locally; synced once the current batch is done. */
  markDirty(paths: Iterable<string>): void {
    for (const p of paths) this.#dirty.add(p)
    this.#draining ??= this.#guard('local sync', this.#drain()).finally(() => {
      this.#draining = undefined
      if (this.#dirty.size > 0 && !this.#stop.signal.aborted) this.markDirty([])
    })
  }

  /** Compares the whole folder with the index: catches anything the watcher missed. */
  async rescan(): Promise<void> {
    if (await this.ignoreRules.refresh()) this.#logRulesError()
    const rules = this.ignoreRules
    const paths: string[] = []
    const ignored: string[] = []
    const skipped = new Map<string, string>()
    const onSkipped = ({ path, reason }: { path: string; reason: string }) => {
      if (!rules.ignores(path)) skipped.set(path, reason)
    }
    for await (const { path } of this.#deps.fs.list({ onSkipped }))
      (rules.ignores(path) ? ignored : paths).push(path)
    this.ignored.replace(ignored)
    // Synced files a rule now covers are passed on too: the batch forgets their vanishing.
    for (const file of this.#deps.index.listFiles()) paths.push(file.path)
    // What the scan no longer finds is gone; what it finds is reported, once.
    for (const problem of this.problems.list('unsyncable'))
      if (!skipped.has(problem.path)) this.problems.clear(problem.path, 'unsyncable')
    for (const [path, reason] of skipped) {
      if (this.problems.set(path, 'unsyncable', { reason }))
        this.#log('warn', 'not syncing an entry of the folder', { path, reason })
    }
    // Unfinished uploads too: one whose file is gone still has to be settled.
    for (const upload of this.#deps.index.listUploads()) paths.push(upload.path)
    this.markDirty(paths)
  }

  /**
   * A background task that failed is a bug: logged, never an unhandled rejection (which
   * would kill the daemon).
   */
  async #guard(task: string, running: Promise<unknown>): Promise<void> {
    try {
      await running
    } catch (err) {
      if (this.#stop.signal.aborted) return
      this.#log('warn', `${task} stopped on an unexpected error`, {
        error: (err as Error)?.stack ?? String(err),
      })
    }
  }

  get pendingPaths(): number {
    return this.#dirty.size
  }

  /** New rules: the whole folder is looked at again under them. */
  async #rulesChanged(): Promise<void> {
    this.#logRulesError()
    this.#log('info', 'ignore rules changed; rescanning', { file: IGNORE_FILE })
    await this.rescan()
  }

  /** A rules file that cannot be used is logged here and shown by `status` (ignoreRules.error). */
  #logRulesError(): void {
    const reason = this.ignoreRules.error
    if (reason) this.#log('warn', 'ignore rules not used', { reason })
  }

  async #drain(): Promise<void> {
    const signal = this.#stop.signal
    while (this.#dirty.size > 0 && !signal.aborted) {
      await this.#deps.gate?.wait(signal)
      const batch = [...this.#dirty]
      this.#dirty.clear()
      try {
        // The rules change before the batch is looked at: a file ignored in the same save stays out.
        if (batch.includes(IGNORE_FILE) && (await this.ignoreRules.refresh()))
          await this.#rulesChanged()
        const again = await this.local.syncBatch(batch, signal)
        if (again.length > 0) {
          // Still being written: look again once it has had time to settle.
          await this.#deps.clock.sleep(200, signal)
          for (const p of again) this.#dirty.add(p)
        }
      } catch (err) {
        if (signal.aborted) return
        this.#log('warn', 'local sync failed; will retry', { error: (err as Error).message })
        for (const p of batch) this.#dirty.add(p)
        await this.#deps.clock.sleep(1_000, signal).catch(() => {})
      }
    }
  }

  async #resumeUploads(): Promise<void> {
    const { index } = this.#deps
    for (const checkpoint of index.listUploads()) {
      const { path, manifest, stat } = checkpoint
      try {
        const result = await this.uploader.resume(checkpoint, this.#stop.signal)
        if (result) {
          const file = {
            path,
            fileId: result.fileId,
            version: result.version,
            stat,
            contentHash: manifest.hash,
            manifest,
          }
          index.putFile(file, checkpoint.plainHashes)
          index.finishUpload(path)
        }
      } catch (err) {
        this.#log('warn', 'could not resume an upload; it will start over', {
          path,
          error: (err as Error).message,
        })
        index.finishUpload(path)
      }
      this.#dirty.add(path)
    }
  }

  /** Applies skipped remote changes again as they come due (the log went on past them). */
  async #skippedLoop(signal: AbortSignal): Promise<void> {
    const every = Math.min(5_000, this.#deps.skippedRetryMs?.first ?? 5_000)
    while (!signal.aborted) {
      await this.#deps.clock.sleep(every, signal).catch(() => {})
      if (signal.aborted) return
      await this.remote.retrySkipped(signal).catch((err) => {
        if (!signal.aborted)
          this.#log('warn', 'could not apply skipped changes', { error: (err as Error).message })
      })
    }
  }

  async #rescanLoop(signal: AbortSignal): Promise<void> {
    const interval = this.#deps.rescanIntervalMs ?? 60_000
    while (!signal.aborted) {
      try {
        await this.#deps.clock.sleep(interval, signal)
        await this.rescan()
      } catch (err) {
        if (signal.aborted) return
        this.#log('warn', 'rescan failed', { error: (err as Error).message })
      }
    }
  }
}
