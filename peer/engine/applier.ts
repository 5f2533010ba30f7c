import { unsealPlainHashes } from '../../protocol/crypto/keys.ts'
import { isCloudsyncError } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { validatePath } from '../../protocol/paths.ts'
import { FileAssembler } from '../../protocol/pipeline/assemble.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { ChunkSource } from '../chunk-sources/chunk-source.ts'
import type { ChunkFetcher } from '../chunk-sources/fetcher.ts'
import {
  type FileStat,
  type SyncFileSystem,
  sameStat,
  type TempFile,
} from '../ports/file-system.ts'
import type { IndexedFile, SyncIndex } from '../ports/sync-index.ts'
import type { ClashMover } from './clash-mover.ts'
import type { Staged } from './prefetcher.ts'

export interface ApplierDeps {
  fs: SyncFileSystem
  index: SyncIndex
  secret: Uint8Array
  fetcher: ChunkFetcher
  /** Where a file version's chunks may come from, best first (local, peers, cloud). */
  sourcesFor: (change: Change) => ChunkSource[]
  /** A temp file already holding (some of) this version, prefetched before its commit. */
  staged?: (change: Change) => Promise<Staged | undefined>
  /** Moves aside a local folder where a remote file goes, or the reverse; none: such a change fails. */
  clashes?: ClashMover
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
}

/** What applying one change did, for counters, logs and tests. */
export type ApplyOutcome =
  | 'written'
  | 'deleted'
  | 'moved'
  | 'already-synced'
  | 'kept-local-edit'
  | 'refused-path'

/**
 * Makes the folder match one committed change. It never overwrites or deletes a local
 * edit that has not been uploaded yet: such a change is skipped, the edit is uploaded
 * with its base version, and the coordinator arbitrates (conflict copy, or edit beats
 * delete). Every write lands atomically and is recorded in the index, so the watcher's
 * echo of it is recognised and never uploaded back.
 */
export class ChangeApplier {
  readonly #deps: ApplierDeps

  constructor(deps: ApplierDeps) {
    this.#deps = deps
  }

  async apply(change: Change, signal?: AbortSignal): Promise<ApplyOutcome> {
    for (const p of [change.path, change.fromPath]) {
      if (p === undefined) continue
      try {
        validatePath(p)
      } catch (err) {
        this.#deps.log('warn', 'refused a remote change with an unsafe path', {
          path: p,
          error: (err as Error).message,
        })
        return 'refused-path'
      }
    }
    try {
      switch (change.kind) {
        case 'created':
        case 'modified':
          return await this.#write(change, signal)
        case 'deleted':
          return await this.#delete(change)
        case 'moved':
          return await this.#move(change, signal)
      }
    } catch (err) {
      // A valid path the file system still refuses (it leads out of the folder through a
      // symlink): refuse this change and move on, rather than fail it (and so every change
      // after it) forever.
      if (!isCloudsyncError(err, 'INVALID_PATH')) throw err
      this.#deps.log('warn', 'refused to write outside the folder', {
        path: change.path,
        ...(change.fromPath !== undefined && { fromPath: change.fromPath }),
        error: err.message,
      })
      return 'refused-path'
    }
  }

  async #write(change: Change, signal?: AbortSignal): Promise<ApplyOutcome> {
    const { fs, index } = this.#deps
    const entry = index.getFile(change.path)
    if (entry && entry.fileId === change.fileId && entry.version >= change.version)
      return 'already-synced'
    const local = await fs.stat(change.path)
    if (local && !sameStat(local, entry?.stat)) return 'kept-local-edit'
    return (await this.#materialize(change, local ?? 'absent', signal))
      ? 'written'
      : 'kept-local-edit'
  }

  async #delete(change: Change): Promise<ApplyOutcome> {
    const { fs, index } = this.#deps
    const entry = index.getFile(change.path)
    if (!entry || entry.fileId !== change.fileId) return 'already-synced'
    const local = await fs.stat(change.path)
    if (!local) {
      index.removeFile(change.path)
      return 'deleted'
    }
    // An edit beats a concurrent delete: keep the file and its base, so the upload revives it.
    if (!sameStat(local, entry.stat)) return 'kept-local-edit'
    if (!(await fs.remove(change.path, local))) return 'kept-local-edit'
    index.removeFile(change.path)
    return 'deleted'
  }

  async #move(change: Change, signal?: AbortSignal): Promise<ApplyOutcome> {
    const { fs, index } = this.#deps
    const from = change.fromPath!
    const entry = index.getFile(from)
    const target = index.getFile(change.path)
    if (target && target.fileId === change.fileId && target.version >= change.version) {
      // Here already (this device moved it, or wrote it afresh): a copy left at the old
      // path is the same file, and goes unless it was edited since.
      if (entry?.fileId === change.fileId) await this.#dropCopy(from, entry)
      return 'already-synced'
    }
    const local = entry && entry.fileId === change.fileId ? await fs.stat(from) : undefined
    if (entry && local && sameStat(local, entry.stat) && !(await fs.stat(change.path))) {
      if (await this.#rename(from, change.path, local)) {
        const stat = (await fs.stat(change.path)) ?? local
        index.removeFile(from)
        index.putFile(
          { ...entry, path: change.path, version: change.version, stat },
          this.#plainHashes(entry.manifest),
        )
        return 'moved'
      }
    }
    // The source was edited locally or is missing, or the target is taken: fetch the
    // moved version afresh, and leave any local edit at the old path to be uploaded on
    // its own. An unedited source is the moved file: it leaves the old path either way.
    const outcome = await this.#write({ ...change, kind: 'modified' }, signal)
    if (entry?.fileId === change.fileId) await this.#dropCopy(from, entry)
    return outcome
  }

  /** False when the target is taken, by a file or (a clash) by a folder or a parent file. */
  async #rename(from: string, to: string, expected: FileStat): Promise<boolean> {
    try {
      return await this.#deps.fs.rename(from, to, expected)
    } catch (err) {
      if (isCloudsyncError(err, 'CONFLICT')) return false
      throw err
    }
  }

  async #dropCopy(path: string, entry: IndexedFile): Promise<void> {
    const { fs, index } = this.#deps
    const local = await fs.stat(path)
    if (local && !sameStat(local, entry.stat)) return
    if (!local || (await fs.remove(path, local))) index.removeFile(path)
  }

  /** Fetches, verifies and writes a version; false when a local edit appeared meanwhile. */
  async #materialize(
    change: Change,
    expected: FileStat | 'absent',
    signal?: AbortSignal,
  ): Promise<boolean> {
    const { fs, index, secret, fetcher, sourcesFor } = this.#deps
    const manifest: Manifest = { size: change.size, hash: change.hash, chunks: change.chunks ?? [] }
    const staged = await this.#deps.staged?.(change)
    if (!staged) await this.#checkSpace(change.path, manifest.size)
    const temp = staged?.temp ?? (await fs.createTemp(manifest.size))
    try {
      const assembler = staged?.assembler ?? new FileAssembler(manifest, secret, temp)
      await fetcher.fill(assembler, sourcesFor(change), signal)
      let stat = await this.#commit(temp, change, expected)
      // Deleted here while the version was on its way: a remote edit beats a local delete.
      if (!stat && expected !== 'absent' && !(await fs.stat(change.path)))
        stat = await this.#commit(temp, change, 'absent')
      if (!stat) {
        await temp.discard()
        return false
      }
      const file: IndexedFile = {
        path: change.path,
        fileId: change.fileId,
        version: change.version,
        stat,
        contentHash: manifest.hash,
        manifest,
      }
      index.putFile(file, this.#plainHashes(manifest))
      return true
    } catch (err) {
      await temp.discard().catch(() => {})
      throw err
    }
  }

  /**
   * Puts the version in place. A local folder of its name, or a local file where its
   * folder goes, is the other side of a file replaced by a folder (or the reverse): the
   * committed version wins the path, and the local one moves aside (ClashMover).
   */
  async #commit(
    temp: TempFile,
    change: Change,
    expected: FileStat | 'absent',
  ): Promise<FileStat | false> {
    try {
      return await temp.commit(change.path, expected)
    } catch (err) {
      const clashes = this.#deps.clashes
      // The change's own paths are locked by the caller already.
      const held = change.fromPath === undefined ? [change.path] : [change.path, change.fromPath]
      if (!isCloudsyncError(err, 'CONFLICT') || !(await clashes?.makeRoom(change.path, held)))
        throw err
      return temp.commit(change.path, expected)
    }
  }

  /**
   * A file the disk cannot hold fails before a byte is written: filling the disk up to
   * the error would starve every other write meanwhile.
   */
  async #checkSpace(path: string, size: number): Promise<void> {
    const free = await this.#deps.fs.freeBytes?.()
    if (free === undefined || size <= free) return
    throw Object.assign(
      new Error(`${path} needs ${size} bytes; the disk has ${free} free (ENOSPC)`),
      { code: 'ENOSPC' },
    )
  }

  #plainHashes(manifest: Manifest): string[] {
    return unsealPlainHashes(this.#deps.secret, manifest.chunks)
  }
}
