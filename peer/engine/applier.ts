import { unsealPlainHashes } from '../../protocol/crypto/keys.ts'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
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
import { pruneFolders } from './folders.ts'
import type { Staged } from './prefetcher.ts'
import type { ProvisionalFiles } from './provisional.ts'

export interface ApplierDeps {
  fs: SyncFileSystem
  index: SyncIndex
  secret: Uint8Array
  fetcher: ChunkFetcher
  /** Paths the ignore rules keep out of sync: their remote changes are not applied. */
  ignores?: (path: string) => boolean
  /** Where a file version's chunks may come from, best first (local, peers, cloud). */
  sourcesFor: (change: Change) => ChunkSource[]
  /** A temp file already holding (some of) this version, prefetched before its commit. */
  staged?: (change: Change) => Promise<Staged | undefined>
  /** Files placed ahead of their commit: the commit confirms them (docs/LAN-FIRST.md). */
  provisional?: ProvisionalFiles
  /** Moves aside a local folder where a remote file goes, or the reverse; none: such a change fails. */
  clashes?: ClashMover
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
}

/** Whether a change commits exactly this manifest's content. */
function sameContent(manifest: Manifest, change: Change): boolean {
  const chunks = change.chunks ?? []
  return (
    manifest.hash === change.hash &&
    manifest.size === change.size &&
    manifest.chunks.length === chunks.length &&
    manifest.chunks.every((c, i) => c.id === chunks[i]!.id)
  )
}

/** What applying one change did, for counters, logs and tests. */
export type ApplyOutcome =
  | 'written'
  /** A file placed ahead of its commit, confirmed by it without being written again. */
  | 'confirmed'
  | 'deleted'
  | 'moved'
  | 'already-synced'
  | 'kept-local-edit'
  | 'refused-path'
  | 'ignored'

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
    const ignored = this.#ignoredChange(change)
    if (ignored) return ignored(signal)
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

  /**
   * An ignored path is neither sent nor received. Its index entry goes, so that once a
   * rule no longer covers it the file there is uploaded, never taken for the synced one.
   * A move across the rules' edge is a delete (into ignored) or a new file (out of it).
   */
  #ignoredChange(change: Change): ((signal?: AbortSignal) => Promise<ApplyOutcome>) | undefined {
    const ignores = this.#deps.ignores
    if (!ignores) return undefined
    const { index } = this.#deps
    const forget = (path: string) => {
      if (index.getFile(path)?.fileId === change.fileId) index.removeFile(path)
    }
    const from = change.fromPath
    const toIgnored = ignores(change.path)
    if (from === undefined || ignores(from)) {
      if (toIgnored)
        return async () => {
          forget(change.path)
          if (from !== undefined) forget(from)
          return 'ignored'
        }
      if (from === undefined) return undefined
      return async (signal) => {
        forget(from)
        return this.#write({ ...change, kind: 'modified' }, signal)
      }
    }
    if (!toIgnored) return undefined
    return () => this.#delete({ ...change, kind: 'deleted', path: from })
  }

  async #write(change: Change, signal?: AbortSignal): Promise<ApplyOutcome> {
    const { fs, index } = this.#deps
    const entry = index.getFile(change.path)
    if (entry && entry.fileId === change.fileId && entry.version >= change.version)
      return 'already-synced'
    const local = await fs.stat(change.path)
    const placed = this.#deps.provisional?.get(change.path)
    if (placed && sameContent(placed.manifest, change)) {
      // The commit of the version placed ahead of it: recorded, not written again. A local
      // change made to the placed file meanwhile now goes up on top of it.
      const stat = local && sameStat(local, placed.stat) ? local : placed.stat
      index.putFile(
        {
          path: change.path,
          fileId: change.fileId,
          version: change.version,
          stat,
          contentHash: change.hash,
          manifest: placed.manifest,
        },
        this.#plainHashes(placed.manifest),
      )
      this.#deps.provisional?.drop(change.path)
      return stat === local ? 'confirmed' : 'kept-local-edit'
    }
    // Another version won the path: it replaces an unedited placed file.
    const unedited = local && (sameStat(local, entry?.stat) || sameStat(local, placed?.stat))
    if (local && !unedited) return 'kept-local-edit'
    const written = await this.#materialize(change, local ?? 'absent', signal)
    if (written) this.#deps.provisional?.drop(change.path)
    return written ? 'written' : 'kept-local-edit'
  }

  async #delete(change: Change): Promise<ApplyOutcome> {
    const { fs, index } = this.#deps
    const entry = index.getFile(change.path)
    // The deleted version may be this device's own upload whose commit answer it has not
    // heard yet: skipped for now, the deletion is looked at again once the upload settles.
    if (!entry && index.getUpload(change.path))
      throw new CloudsyncError('CONFLICT', `${change.path}: waits for this device's upload of it`)
    if (!entry || entry.fileId !== change.fileId) return 'already-synced'
    const local = await fs.stat(change.path)
    if (!local) {
      index.removeFile(change.path)
      return 'deleted'
    }
    // An edit beats a concurrent delete: keep the file and its base, so the upload revives it.
    // A file placed ahead of its commit is such an edit, the uploader's: its commit revives it.
    if (!sameStat(local, entry.stat)) return 'kept-local-edit'
    if (!(await fs.remove(change.path, local))) return 'kept-local-edit'
    index.removeFile(change.path)
    await pruneFolders(fs, index, change.path)
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
    // Only the version held here moves as it is: a snapshot's move may carry a newer one.
    const same = entry !== undefined && entry.version >= change.version
    if (entry && local && same && sameStat(local, entry.stat) && !(await fs.stat(change.path))) {
      if (await this.#rename(from, change.path, local)) {
        const stat = (await fs.stat(change.path)) ?? local
        index.removeFile(from)
        index.putFile(
          { ...entry, path: change.path, version: change.version, stat },
          this.#plainHashes(entry.manifest),
        )
        await pruneFolders(fs, index, from)
        return 'moved'
      }
    }
    if (entry?.fileId === change.fileId && !local && !target) {
      const adopted = await this.#sameMove(entry, change)
      if (adopted) return adopted
    }
    // The source was edited locally or is missing, or the target is taken: fetch the
    // moved version afresh, and leave any local edit at the old path to be uploaded on
    // its own. An unedited source is the moved file: it leaves the old path either way.
    const outcome = await this.#write({ ...change, kind: 'modified' }, signal)
    if (entry?.fileId === change.fileId) await this.#dropCopy(from, entry)
    return outcome
  }

  /**
   * This device made the same move (its own not sent yet): the file at the target is the
   * source's inode. It is that file at the moved version; an edit made since goes up on it.
   */
  async #sameMove(entry: IndexedFile, change: Change): Promise<ApplyOutcome | undefined> {
    const { fs, index } = this.#deps
    const there = await fs.stat(change.path)
    if (!there || entry.stat.ino === 0 || there.ino !== entry.stat.ino) return undefined
    const unedited = sameStat(there, entry.stat)
    index.removeFile(entry.path)
    // At the version held here: a newer one the change carries is written (or, over an
    // edit, weighed by the coordinator) as its own change would be.
    index.putFile({ ...entry, path: change.path }, this.#plainHashes(entry.manifest))
    if (entry.version < change.version) return this.#write({ ...change, kind: 'modified' })
    return unedited ? 'moved' : 'kept-local-edit'
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
    if (local && !(await fs.remove(path, local))) return
    index.removeFile(path)
    if (local) await pruneFolders(fs, index, path)
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
    // A part file outlives the process: a download cut short resumes from what it wrote.
    const partial = staged ? undefined : await fs.openPartial?.(manifest.hash, manifest.size)
    const temp = staged?.temp ?? partial?.temp ?? (await fs.createTemp(manifest.size))
    try {
      const assembler = staged?.assembler ?? new FileAssembler(manifest, secret, temp)
      if (partial?.resumed) {
        // Only chunks whose plaintext hash matches the manifest count; the rest is fetched.
        const taken = await assembler.recover((offset, length) => temp.read(offset, length))
        this.#deps.log('info', 'resuming a download from its part file', {
          path: change.path,
          chunks: taken.length,
          of: manifest.chunks.length,
        })
      }
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
      // Kept for a retry or the next start unless the file itself failed (a full disk).
      const keep = partial && temp.keep && (signal?.aborted || isRetryable(err))
      await (keep ? temp.keep!() : temp.discard()).catch(() => {})
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

/** The source failed, not the file: the same download can go on later. */
function isRetryable(err: unknown): boolean {
  return isCloudsyncError(err, 'UNAVAILABLE') || isCloudsyncError(err, 'BUSY')
}
