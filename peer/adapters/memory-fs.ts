import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import { FOLDER_MARKER, isFolderMarker, parentOf, validatePath } from '../../protocol/paths.ts'
import type { Clock } from '../ports/clock.ts'
import {
  type FileStat,
  type ListOptions,
  type ReadHandle,
  type SyncFileSystem,
  sameStat,
  type TempFile,
  UNSYNCABLE,
} from '../ports/file-system.ts'
import type { FolderWatcher } from '../ports/watcher.ts'
import { FolderMarkers, RESERVED_NAME } from './folder-markers.ts'

/** A file's identity and bytes: replaced whole on commit, edited in place by `writeFile`. */
interface Inode {
  ino: number
  bytes: Uint8Array
  mtimeMs: number
}

export interface MemoryFileSystemOptions {
  /** Where mtimes come from; a virtual clock in the simulator. */
  clock?: Pick<Clock, 'now'>
  /** A top-level name refused like the real state directory (default `.cloudsync`). */
  stateDirName?: string
}

const statOf = (node: Inode): FileStat => ({
  size: node.bytes.length,
  mtimeMs: node.mtimeMs,
  ino: node.ino,
})

/**
 * An in-memory folder with the same semantics as the node:fs one: validated paths,
 * directories made with their files and left when they empty (a file `a/b` makes `a` a
 * directory, so `a` cannot also be a file), empty folders shown as their markers, atomic
 * commits that replace the inode, handles that keep reading the inode they opened.
 * Inode numbers count up from 1 and mtimes come from the injected clock, so a seeded
 * simulation is deterministic. `writeFile`/`deleteFile` play the user editing the folder.
 */
export class MemoryFileSystem implements SyncFileSystem {
  readonly #files = new Map<string, Inode>()
  /** Every directory below the root, with its inode number. */
  readonly #dirs = new Map<string, number>()
  readonly #markers = new FolderMarkers({
    folder: async (path) => {
      const ino = this.#dirs.get(this.#check(path))
      return ino === undefined ? undefined : { ino, empty: !this.#hasChildren(path) }
    },
    makeFolder: async (path) => this.makeFolder(path),
    removeFolder: (path) => this.removeFolder(path),
  })
  /** Entries no device can sync (a bad name, a symlink), by the path a watcher reports. */
  readonly #unsyncable = new Map<string, string>()
  readonly #clock: Pick<Clock, 'now'>
  readonly #stateDirName: string
  readonly #listeners = new Set<(path: string) => void>()
  #nextIno = 1

  constructor(options: MemoryFileSystemOptions = {}) {
    this.#clock = options.clock ?? { now: () => Date.now() }
    this.#stateDirName = options.stateDirName ?? '.cloudsync'
  }

  async stat(path: string): Promise<FileStat | undefined> {
    if (isFolderMarker(path)) return this.#markers.stat(path)
    const node = this.#files.get(this.#check(path))
    return node && statOf(node)
  }

  async *list(options: ListOptions = {}): AsyncIterable<{ path: string; stat: FileStat }> {
    const prefix = options.under === undefined ? '' : `${this.#check(options.under)}/`
    for (const [path, reason] of this.#unsyncable)
      if (path.startsWith(prefix)) options.onSkipped?.({ path, reason })
    const entries: { path: string; stat: FileStat }[] = []
    for (const [path, node] of this.#files)
      if (path.startsWith(prefix)) entries.push({ path, stat: statOf(node) })
    for (const [dir, ino] of this.#dirs) {
      // A folder listed empty shows its own marker, as node:fs does.
      if ((dir.startsWith(prefix) || `${dir}/` === prefix) && !this.#hasChildren(dir))
        entries.push({ path: `${dir}/${FOLDER_MARKER}`, stat: FolderMarkers.statFor(ino) })
    }
    yield* entries.sort((a, b) => (a.path < b.path ? -1 : 1))
  }

  async whyUnsyncable(path: string): Promise<string | undefined> {
    return this.#unsyncable.get(path)
  }

  /**
   * The user makes an entry no device can sync: a file whose name is no valid remote path
   * (a backslash, a newline), or a symlink. It is watched and listed like the real thing.
   */
  makeUnsyncable(path: string, kind: 'file' | 'symlink' = 'file'): void {
    let reason: string = UNSYNCABLE.symlink
    if (kind === 'file') {
      try {
        validatePath(path)
        throw new Error(`${path} is a valid name: use writeFile`)
      } catch (err) {
        if (!isCloudsyncError(err, 'INVALID_PATH')) throw err
        reason = UNSYNCABLE.badName(err.message)
      }
    } else this.#check(path)
    this.#unsyncable.set(path, reason)
    this.#changed(path)
  }

  removeUnsyncable(path: string): void {
    if (this.#unsyncable.delete(path)) this.#changed(path)
  }

  async openRead(path: string): Promise<ReadHandle> {
    if (isFolderMarker(path)) return this.#markers.openRead(path)
    const node = this.#files.get(this.#check(path))
    if (!node) throw new CloudsyncError('NOT_FOUND', `No file at ${path}`)
    let position = 0
    return {
      stat: statOf(node),
      source: {
        async readInto(into) {
          const n = Math.max(0, Math.min(into.length, node.bytes.length - position))
          into.set(node.bytes.subarray(position, position + n))
          position += n
          return n
        },
      },
      async readRange(offset, length) {
        if (offset + length > node.bytes.length) {
          throw new CloudsyncError('CONFLICT', `${path} is shorter than ${offset + length} bytes`)
        }
        return node.bytes.slice(offset, offset + length)
      },
      async close() {},
    }
  }

  async createTemp(size: number): Promise<TempFile> {
    return this.#markers.wrap(await this.#createTemp(size))
  }

  async #createTemp(size: number): Promise<TempFile> {
    const node: Inode = { ino: this.#nextIno++, bytes: new Uint8Array(size), mtimeMs: 0 }
    node.mtimeMs = this.#clock.now()
    let done = false
    const live = () => {
      if (done) throw new CloudsyncError('INTERNAL', 'Temp file already committed or discarded')
    }
    return {
      write: async (bytes, position) => {
        live()
        const end = position + bytes.length
        if (end > node.bytes.length) {
          const grown = new Uint8Array(end)
          grown.set(node.bytes)
          node.bytes = grown
        }
        node.bytes.set(bytes, position)
        node.mtimeMs = this.#clock.now()
      },
      read: async (offset, length) => {
        live()
        if (offset + length > node.bytes.length)
          throw new CloudsyncError('INTERNAL', `Temp file holds no ${length} bytes at ${offset}`)
        return node.bytes.slice(offset, offset + length)
      },
      commit: async (path, expected) => {
        live()
        const target = this.#check(path)
        this.#ensureParents(target)
        if (this.#isDirectory(target)) throw this.#clash(target)
        if (!this.#matches(target, expected)) return false
        done = true
        this.#files.set(target, node)
        this.#changed(target)
        return statOf(node)
      },
      discard: async () => {
        done = true
      },
    }
  }

  async remove(path: string, expected?: FileStat): Promise<boolean> {
    if (isFolderMarker(path)) return this.#markers.remove(path, expected)
    const target = this.#check(path)
    const node = this.#files.get(target)
    if (!node || (expected && !sameStat(statOf(node), expected))) return false
    this.#files.delete(target)
    this.#changed(target)
    return true
  }

  async rename(from: string, to: string, expected?: FileStat): Promise<boolean> {
    if (isFolderMarker(from) || isFolderMarker(to)) return this.#markers.rename(from, to, expected)
    const source = this.#check(from)
    const target = this.#check(to)
    const node = this.#files.get(source)
    if (!node || (expected && !sameStat(statOf(node), expected))) return false
    if (!this.#matches(target, 'absent')) return false
    this.#ensureParents(target)
    this.#files.delete(source)
    this.#files.set(target, node)
    this.#changed(source)
    this.#changed(target)
    return true
  }

  async removeFolder(path: string): Promise<boolean> {
    const dir = this.#check(path)
    if (!this.#dirs.has(dir) || this.#hasChildren(dir)) return false
    this.#dirs.delete(dir)
    this.#changed(dir)
    return true
  }

  /** Makes a folder and its parents (the user, or a synced empty folder). */
  makeFolder(path: string): void {
    const dir = this.#check(path)
    if (this.#files.has(dir)) throw this.#clash(dir)
    this.#ensureParents(`${dir}/${FOLDER_MARKER}`)
  }

  /** The user removes a folder and everything in it. */
  deleteTree(path: string): void {
    const dir = this.#check(path)
    const prefix = `${dir}/`
    // Each entry is reported, as chokidar reports each unlink of a removed tree.
    for (const map of [this.#files, this.#dirs])
      for (const key of [...map.keys()]) {
        if (key !== dir && !key.startsWith(prefix)) continue
        map.delete(key)
        this.#changed(key)
      }
  }

  /** The user writes a file in place (same inode when it exists), as an editor would. */
  writeFile(path: string, bytes: Uint8Array): FileStat {
    const target = this.#check(path)
    if (target.split('/').includes(FOLDER_MARKER))
      throw new CloudsyncError('INVALID_PATH', `${path}: ${RESERVED_NAME}`)
    this.#ensureParents(target)
    if (this.#isDirectory(target)) throw this.#clash(target)
    const old = this.#files.get(target)
    // Strictly later than the previous mtime, so an edit within one virtual millisecond
    // is still visible in the stat (a real file system has nanosecond mtimes).
    const now = this.#clock.now()
    const mtimeMs = old && now <= old.mtimeMs ? old.mtimeMs + 1 : now
    const node = old ?? { ino: this.#nextIno++, bytes, mtimeMs }
    node.bytes = bytes.slice()
    node.mtimeMs = mtimeMs
    this.#files.set(target, node)
    this.#changed(target)
    return statOf(node)
  }

  /** A file's current bytes (an empty folder's marker: none), or undefined: for tests and the simulator's checks. */
  readFile(path: string): Uint8Array | undefined {
    if (isFolderMarker(path)) {
      const dir = parentOf(this.#check(path))
      return this.#dirs.has(dir) && !this.#hasChildren(dir) ? new Uint8Array(0) : undefined
    }
    return this.#files.get(this.#check(path))?.bytes.slice()
  }

  /** The user deletes a file (the marker of an empty folder: the folder). */
  deleteFile(path: string): boolean {
    if (isFolderMarker(path))
      return this.readFile(path) !== undefined && this.#rmdir(parentOf(path))
    const target = this.#check(path)
    const existed = this.#files.delete(target)
    if (existed) this.#changed(target)
    return existed
  }

  /** A watcher reporting every change to this folder (the sync's own writes too, like chokidar). */
  watcher(): FolderWatcher {
    let listener: ((path: string) => void) | undefined
    return {
      start: async (onPaths) => {
        let pending = new Set<string>()
        listener = (path) => {
          if (pending.size === 0) {
            queueMicrotask(() => {
              const paths = [...pending]
              pending = new Set()
              if (listener) onPaths(paths)
            })
          }
          pending.add(path)
        }
        this.#listeners.add(listener)
      },
      stop: async () => {
        if (listener) this.#listeners.delete(listener)
        listener = undefined
      },
    }
  }

  #rmdir(dir: string): boolean {
    this.#dirs.delete(dir)
    this.#changed(dir)
    return true
  }

  #hasChildren(dir: string): boolean {
    const prefix = `${dir}/`
    for (const map of [this.#files, this.#dirs, this.#unsyncable])
      for (const key of map.keys()) if (key.startsWith(prefix)) return true
    return false
  }

  #check(path: string): string {
    const valid = validatePath(path)
    const top = valid.split('/', 1)[0]
    if (top === this.#stateDirName) {
      throw new CloudsyncError('INVALID_PATH', `${path} is inside the state directory`)
    }
    return valid
  }

  #matches(path: string, expected: FileStat | 'absent' | 'any'): boolean {
    if (expected === 'any') return true
    const node = this.#files.get(path)
    if (expected === 'absent') return !node && !this.#isDirectory(path)
    return node !== undefined && sameStat(statOf(node), expected)
  }

  #isDirectory(path: string): boolean {
    return this.#dirs.has(path)
  }

  /** A parent that is a file is an error, as ENOTDIR is on disk; the others are made. */
  #ensureParents(path: string): void {
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      if (this.#files.has(parent)) throw this.#clash(parent)
    }
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      if (this.#dirs.has(parent)) continue
      this.#dirs.set(parent, this.#nextIno++)
      this.#changed(parent)
    }
  }

  #clash(path: string): CloudsyncError {
    return new CloudsyncError(
      'CONFLICT',
      `${path} is a file where a directory is needed, or the reverse`,
    )
  }

  #changed(path: string): void {
    for (const listener of this.#listeners) listener(path)
  }
}
