import { unsealPlainHashes } from '../../protocol/crypto/keys.ts'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import { isFolderMarker, isValidPath } from '../../protocol/paths.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'
import { type FileStat, type SyncFileSystem, sameStat } from '../ports/file-system.ts'
import type { IndexedFile, SyncIndex, UploadCheckpoint } from '../ports/sync-index.ts'
import { isRetryable } from '../retry.ts'
import { trace } from '../trace.ts'
import type { PathLocks } from './path-locks.ts'
import type { ProvisionalFiles } from './provisional.ts'
import { errorCode, type SyncProblems } from './sync-problems.ts'
import { type EncodedFile, FileChangedError, type Uploader } from './uploader.ts'

export interface LocalSyncDeps {
  fs: SyncFileSystem
  api: CoordinatorApi
  index: SyncIndex
  uploader: Uploader
  /** Opens a synced manifest's plaintext chunk hashes (a moved file keeps its chunks). */
  secret: Uint8Array
  locks: PathLocks
  /** Paths that cannot be synced, and why: what `status` shows. */
  problems: SyncProblems
  /** Paths the ignore rules keep out of sync: never uploaded, never deleted remotely. */
  ignores?: (path: string) => boolean
  /** Told of each ignored path in a batch, and whether it is there. */
  onIgnored?: (path: string, present: boolean) => void
  retry: <T>(call: () => Promise<T>) => Promise<T>
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
  now: () => number
  /** A path with no synced file is empty now: a remote version held back by it can go there. */
  onUnsyncedGone?: (path: string) => void
  /** Files placed ahead of their commit: not this device's edits (docs/LAN-FIRST.md). */
  provisional?: ProvisionalFiles
}

/**
 * How long a vanished file waits for its twin to appear elsewhere before it counts as
 * deleted. A rename reaches the watcher as a removal and an addition, not always in the
 * same batch (the addition waits for the file to be stable); within this grace they
 * still pair up as a move.
 */
export const MOVE_GRACE_MS = 750

/**
 * How long a folder must stay empty before it goes up as an empty folder: one made and
 * filled at once (a copy), or one emptied for a moment while a remote delete removes its
 * folders, is no empty folder any other device should get.
 */
export const EMPTY_FOLDER_GRACE_MS = 750

/** A path that keeps failing is tried again after 1 s, 2 s, 4 s … up to this. */
const FAILURE_BACKOFF_MAX_MS = 60_000

export interface LocalCounters {
  uploaded: number
  moved: number
  deleted: number
  unchanged: number
}

/**
 * Sends local changes to the coordinator. A batch of paths that may have changed is
 * sorted into files that appeared or changed and files that vanished; a new file whose
 * content matches a vanished one is sent as a move, not a re-upload.
 */
export class LocalSync {
  readonly counters: LocalCounters = { uploaded: 0, moved: 0, deleted: 0, unchanged: 0 }
  readonly #deps: LocalSyncDeps
  /** Paths whose last sync failed: how often, and not before when to try again. */
  readonly #failures = new Map<string, { count: number; until: number }>()
  /** Synced files found missing, by path, with when they were first missed. */
  readonly #vanished = new Map<string, { entry: IndexedFile; since: number }>()
  /** Empty folders not synced yet (their markers), with when they were first seen empty. */
  readonly #emptied = new Map<string, number>()
  /** Vanished paths a new file is moving from, not yet sent: to it (not deleted meanwhile). */
  readonly #moving = new Map<string, string>()

  constructor(deps: LocalSyncDeps) {
    this.#deps = deps
  }

  /** Syncs a batch; returns the paths to try again later (still changing, or just vanished). */
  async syncBatch(paths: Iterable<string>, signal?: AbortSignal): Promise<string[]> {
    const { index, now } = this.#deps
    const present: string[] = []
    const retry: string[] = []
    /** Gone before their first upload finished: that upload may have committed all the same. */
    const unfinished: string[] = []
    for (const path of new Set(paths)) {
      if (this.#deps.ignores?.(path)) {
        await this.#ignore(path)
        continue
      }
      const stat = await this.#stat(path)
      if (stat === 'skip') continue
      if (stat === 'retry') {
        retry.push(path)
        continue
      }
      const placed = this.#deps.provisional?.get(path)
      if (placed) {
        // Another device's version, placed ahead of its commit: nothing of ours to send. A
        // change made to it here waits until that version commits (or is abandoned), and
        // then goes up on top of it.
        if (!sameStat(stat, placed.stat)) retry.push(path)
        continue
      }
      const entry = index.getFile(path)
      if (stat && !entry && isFolderMarker(path) && !this.#emptyLongEnough(path)) {
        retry.push(path)
        continue
      }
      if (!stat || entry) this.#emptied.delete(path)
      if (!stat && !entry) {
        this.#forget(path)
        this.#deps.onUnsyncedGone?.(path)
      }
      if (stat) this.#vanished.delete(path)
      if (!stat && entry && !this.#vanished.has(path))
        this.#vanished.set(path, { entry, since: now() })
      // An unfinished upload is settled even when the file now matches the index (a
      // remote version written over it since): otherwise its checkpoint stays for good.
      else if (stat && (!sameStat(stat, entry?.stat) || index.getUpload(path))) present.push(path)
      else if (!stat && !entry && index.getUpload(path)) unfinished.push(path)
    }
    for (const path of unfinished) {
      const checkpoint = index.getUpload(path)
      if (!checkpoint) continue
      await this.#attempt(path, retry, () => this.#settleUnfinished(checkpoint, signal))
      // It did commit: now it is a delete to send.
      if (index.getFile(path)) retry.push(path)
    }
    for (const path of present) {
      signal?.throwIfAborted()
      if (this.#backingOff(path)) {
        retry.push(path)
        continue
      }
      trace('local-change', { path })
      await this.#attempt(path, retry, () => this.#syncPresent(path, signal))
    }
    for (const [path, { entry, since }] of this.#vanished) {
      if (now() - since < MOVE_GRACE_MS || this.#backingOff(path) || this.#claimed(path, entry)) {
        retry.push(path)
        continue
      }
      this.#vanished.delete(path)
      const ok = await this.#attempt(path, retry, () => this.#syncGone(entry, signal))
      if (!ok) this.#vanished.set(path, { entry, since })
    }
    return retry
  }

  #emptyLongEnough(marker: string): boolean {
    const now = this.#deps.now()
    const since = this.#emptied.get(marker)
    if (since === undefined) this.#emptied.set(marker, now)
    return since !== undefined && now - since >= EMPTY_FOLDER_GRACE_MS
  }

  /**
   * The path's stat; 'skip' for an entry that is never synced (a name no device could use,
   * a symlink), which is reported instead; 'retry' when the stat itself failed.
   */
  async #stat(path: string): Promise<FileStat | undefined | 'skip' | 'retry'> {
    const { fs, problems, log } = this.#deps
    let stat: FileStat | undefined
    try {
      stat = await fs.stat(path)
    } catch (err) {
      if (!isCloudsyncError(err, 'INVALID_PATH')) {
        if (!this.#backingOff(path)) this.#failed(path, err)
        return 'retry'
      }
    }
    if (stat) {
      problems.clear(path, 'unsyncable')
      return stat
    }
    const why = await fs.whyUnsyncable(path).catch(() => undefined)
    if (!why) {
      problems.clear(path, 'unsyncable')
      return undefined
    }
    if (problems.set(path, 'unsyncable', { reason: why }))
      log('warn', 'not syncing an entry of the folder', { path, reason: why })
    // A synced file replaced by a symlink is gone as a file: its deletion goes up.
    return isValidPath(path) ? undefined : 'skip'
  }

  /**
   * An ignored path is out of sync's sight: a synced file that a new rule covers is not
   * deleted remotely, and one that vanished stays where it is on the other devices.
   */
  async #ignore(path: string): Promise<void> {
    const stat = await this.#deps.fs.stat(path).catch(() => undefined)
    this.#deps.onIgnored?.(path, stat !== undefined)
    // An upload cut short by the new rule is dropped, not left pending for good.
    if (this.#deps.index.getUpload(path)) this.#deps.index.finishUpload(path)
    this.#vanished.delete(path)
    this.#deps.problems.clear(path, 'unsyncable')
    this.#forget(path)
  }

  /** A path that is gone and was never synced: nothing to retry, nothing to report. */
  #forget(path: string): void {
    for (const [from, to] of this.#moving) if (to === path) this.#moving.delete(from)
    this.#failures.delete(path)
    this.#deps.problems.clear(path, 'failing')
  }

  #failed(path: string, err: unknown): void {
    const count = (this.#failures.get(path)?.count ?? 0) + 1
    const delay = Math.min(FAILURE_BACKOFF_MAX_MS, 1_000 * 2 ** (count - 1))
    this.#failures.set(path, { count, until: this.#deps.now() + delay })
    const reason = (err as Error).message
    this.#deps.problems.set(path, 'failing', { reason, code: errorCode(err) })
    this.#deps.log('warn', 'could not sync a local change; will retry', {
      path,
      attempt: count,
      retryInMs: delay,
      error: reason,
    })
  }

  /**
   * Runs one path's sync so that its failure is that path's alone: logged, retried with
   * backoff, and never holding back the other changes of the batch.
   */
  async #attempt(path: string, retry: string[], sync: () => Promise<void>): Promise<boolean> {
    try {
      await this.#deps.locks.with([path], sync)
      this.#forget(path)
      return true
    } catch (err) {
      if (!(err instanceof FileChangedError)) this.#failed(path, err)
      retry.push(path)
      return false
    }
  }

  #backingOff(path: string): boolean {
    const failure = this.#failures.get(path)
    return failure !== undefined && this.#deps.now() < failure.until
  }

  async #syncPresent(path: string, signal?: AbortSignal): Promise<void> {
    const { index, uploader } = this.#deps
    // Asked again under the path's lock: a placement may have finished since the batch
    // looked (the watcher reports the placed file while it is being recorded).
    const placed = this.#deps.provisional?.get(path)
    if (placed) {
      if (sameStat(await this.#deps.fs.stat(path), placed.stat)) return
      throw new FileChangedError(`${path} is placed ahead of its commit; the edit waits`)
    }
    const unfinished = index.getUpload(path)
    if (unfinished) await this.#settleUnfinished(unfinished, signal)
    const entry = index.getFile(path)
    const file = await uploader.encode(path, signal)
    if (!file) return
    try {
      await this.#sendPresent(path, file, entry, signal)
    } finally {
      // Ciphertexts the encoder kept for an upload that did not happen (or failed first).
      uploader.release(file)
    }
  }

  async #sendPresent(
    path: string,
    file: EncodedFile,
    entry: IndexedFile | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const { index, uploader, api, retry } = this.#deps
    if (sameStat(file.stat, entry?.stat)) return
    const plainHashes = file.plainHashes
    if (entry && entry.contentHash === file.manifest.hash) {
      // Touched, not changed (or rewritten with the same bytes): nothing to send.
      index.putFile({ ...entry, stat: file.stat }, plainHashes)
      this.counters.unchanged++
      return
    }
    // An empty folder moves only as a folder, never from or to an empty file.
    const movedFrom = entry ? undefined : this.#moveSource(path, file.manifest.hash, file.stat)
    if (movedFrom) {
      this.#moving.set(movedFrom.path, path)
      const moved = await retry(() =>
        api.moveFile(movedFrom.fileId, path, movedFrom.version, signal),
      ).catch((err) => {
        // A newer version this device has not applied yet: it may be the same move, made
        // elsewhere too. Tried again once the log brought it, not uploaded as a new file.
        const current = isCloudsyncError(err, 'STALE_BASE')
          ? err.details?.currentVersion
          : undefined
        if (
          typeof current === 'number' &&
          current > (index.getFile(movedFrom.path)?.version ?? current)
        )
          throw new CloudsyncError(
            'CONFLICT',
            `${path}: its move waits for version ${current} of ${movedFrom.path}`,
          )
        // The source changed remotely meanwhile: fall back to a plain upload below.
        if (isCloudsyncError(err, 'STALE_BASE') || isCloudsyncError(err, 'CONFLICT'))
          return undefined
        throw err
      })
      this.#moving.delete(movedFrom.path)
      if (moved) {
        this.#vanished.delete(movedFrom.path)
        index.removeFile(movedFrom.path)
        this.counters.moved++
        const edited = movedFrom.contentHash !== file.manifest.hash
        // Moved, then edited: indexed at its new path as synced before the edit, so the
        // edit goes up on the moved version (now, or on a retry if this upload fails).
        entry = {
          ...movedFrom,
          path,
          version: moved.version,
          stat: edited ? movedFrom.stat : file.stat,
        }
        // Its chunks are served only while the file still has the indexed stat.
        index.putFile(
          entry,
          edited ? unsealPlainHashes(this.#deps.secret, movedFrom.manifest.chunks) : plainHashes,
        )
        if (!edited) return
      }
    }
    const result = await uploader.upload(
      path,
      file,
      entry?.version ?? null,
      signal,
      path,
      entry?.fileId,
    )
    index.putFile(
      {
        path,
        fileId: result.fileId,
        version: result.version,
        stat: file.stat,
        contentHash: file.manifest.hash,
        manifest: file.manifest,
      },
      plainHashes,
    )
    index.finishUpload(path)
    this.counters.uploaded++
  }

  /** Whether a new file is still moving from this vanished one: its delete would undo that. */
  #claimed(path: string, entry: IndexedFile): boolean {
    const { index } = this.#deps
    const to = this.#moving.get(path)
    if (to === undefined) return false
    if (index.getFile(path)?.fileId === entry.fileId && !index.getFile(to)) return true
    this.#moving.delete(path)
    return false
  }

  /**
   * The vanished file a new one is, moved: the same content, or the same inode (moved and
   * then edited in place). Only a path the index still holds for that file: one a remote
   * move took away is stale, and moving from it would leave the real source to be deleted
   * after the grace.
   */
  #moveSource(path: string, contentHash: string, stat: FileStat): IndexedFile | undefined {
    const { index } = this.#deps
    const sources = [...this.#vanished.values()]
      .map((v) => v.entry)
      .filter(
        (e) =>
          index.getFile(e.path)?.fileId === e.fileId &&
          isFolderMarker(e.path) === isFolderMarker(path),
      )
    return (
      sources.find((e) => e.contentHash === contentHash) ??
      sources.find((e) => e.stat.ino !== 0 && e.stat.ino === stat.ino)
    )
  }

  /**
   * An earlier upload of the path that failed part-way: its commit may have happened with
   * only the answer lost. Finish or confirm it first, so the next upload is based on the
   * version it made (not on none, which would turn the device's own write into a conflict
   * copy); a session that is gone, or a file changed since, is dropped.
   */
  async #settleUnfinished(checkpoint: UploadCheckpoint, signal?: AbortSignal): Promise<void> {
    const { index, uploader } = this.#deps
    try {
      const result = await uploader.resume(checkpoint, signal)
      const current = index.getFile(checkpoint.path)
      const newer =
        current !== undefined &&
        current.fileId === result?.fileId &&
        current.version >= result.version
      if (result && !newer) {
        const { path, manifest, stat, plainHashes } = checkpoint
        const { fileId, version } = result
        index.putFile(
          { path, fileId, version, stat, contentHash: manifest.hash, manifest },
          plainHashes,
        )
      }
    } catch (err) {
      // Unreachable: keep the checkpoint and try again later. Anything else: start over.
      if (signal?.aborted || isRetryable(err)) throw err
    }
    index.finishUpload(checkpoint.path)
  }

  async #syncGone(entry: IndexedFile, signal?: AbortSignal): Promise<void> {
    const { fs, index, api, retry } = this.#deps
    const current = index.getFile(entry.path)
    if (!current || current.fileId !== entry.fileId || (await fs.stat(entry.path))) return
    try {
      await retry(() => api.deleteFile(entry.fileId, current.version, signal))
      this.counters.deleted++
    } catch (err) {
      // Edited (or already deleted) remotely meanwhile: the newer version wins and the
      // change log brings it back; forget the path so it is written as new.
      if (!isCloudsyncError(err, 'STALE_BASE') && !isCloudsyncError(err, 'NOT_FOUND')) throw err
      this.#deps.log('info', 'local delete lost to a newer remote version', { path: entry.path })
    }
    index.removeFile(entry.path)
  }
}
