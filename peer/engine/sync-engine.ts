import type { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { ServerMessage } from '../../protocol/schemas/ws.ts'
import type { ChunkSource } from '../chunk-sources/chunk-source.ts'
import { ChunkFetcher } from '../chunk-sources/fetcher.ts'
import { firstProvider } from '../chunk-sources/served-chunks.ts'
import type { Clock } from '../ports/clock.ts'
import type { CoordinatorApi, PushChannel } from '../ports/coordinator.ts'
import type { SyncFileSystem } from '../ports/file-system.ts'
import type { SyncIndex } from '../ports/sync-index.ts'
import type { FolderWatcher } from '../ports/watcher.ts'
import type { ChunkProvider } from '../swarm/chunk-service.ts'
import { ChangeApplier } from './applier.ts'
import { ClashMover } from './clash-mover.ts'
import { HeadWatch } from './head-watch.ts'
import { LocalSync } from './local-sync.ts'
import { PathLocks } from './path-locks.ts'
import { Prefetcher } from './prefetcher.ts'
import { RemoteSync } from './remote-sync.ts'
import { SyncProblems } from './sync-problems.ts'
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
    const now = () => deps.clock.now()
    this.problems = new SyncProblems({
      now,
      store: {
        load: () => deps.index.getSkippedChanges(),
        save: (changes) => deps.index.setSkippedChanges(changes),
      },
    })
    const problems = this.problems
    this.uploader = new Uploader({
      ...deps,
      now,
      sleep: (ms, signal) => deps.clock.sleep(ms, signal),
    })
    this.local = new LocalSync({
      ...deps,
      uploader: this.uploader,
      locks,
      problems,
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
          })
        : undefined
    this.prefetcher = prefetcher
    this.serving = firstProvider([this.uploader.uploads, prefetcher])
    const applier = new ChangeApplier({
      ...deps,
      fetcher: this.fetcher,
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
    })
    this.remote = new RemoteSync({
      ...deps,
      applier,
      locks,
      problems,
      log: this.#log,
      onLocalEditKept: (path) => this.markDirty([path]),
      onMessage: (message) => {
        if (message.type === 'pending') prefetcher?.onPending(message)
        else if (message.type === 'pending-expired')
          void prefetcher?.onPendingExpired(message.sessionId)
        deps.onMessage?.(message)
      },
      ...(prefetcher && {
        beforeApply: (change) => prefetcher.settle(change),
        afterApply: (change) => prefetcher.release(change),
      }),
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
    await this.#resumeUploads()
    await this.#deps.watcher.start((paths) => this.markDirty(paths))
    await this.rescan()
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
    const paths: string[] = []
    const skipped = new Map<string, string>()
    const onSkipped = ({ path, reason }: { path: string; reason: string }) =>
      skipped.set(path, reason)
    for await (const { path } of this.#deps.fs.list({ onSkipped })) paths.push(path)
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

  async #drain(): Promise<void> {
    const signal = this.#stop.signal
    while (this.#dirty.size > 0 && !signal.aborted) {
      const batch = [...this.#dirty]
      this.#dirty.clear()
      try {
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
