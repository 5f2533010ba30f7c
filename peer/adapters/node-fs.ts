import { isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import type { Dirent, Stats } from 'node:fs'
import { constants } from 'node:fs'
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  opendir,
  readdir,
  realpath,
  rename,
  rmdir,
  stat,
  statfs,
  unlink,
} from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { CloudsyncError } from '../../protocol/errors.ts'
import { FOLDER_MARKER, isFolderMarker, validatePath } from '../../protocol/paths.ts'
import {
  type FileStat,
  type ListOptions,
  type ReadHandle,
  type SkippedEntry,
  type SyncFileSystem,
  sameStat,
  type TempFile,
  UNSYNCABLE,
} from '../ports/file-system.ts'
import { aroundPageCache, openDirect } from './direct-writes.ts'
import { FolderMarkers, RESERVED_NAME } from './folder-markers.ts'

export interface NodeFileSystemOptions {
  /** The synced folder; must exist. */
  root: string
  /** Device state (index, keys, temp files); default `<root>/.cloudsync`, hidden from sync. */
  stateDir?: string
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException)?.code
const toStat = (s: Stats): FileStat => ({ size: s.size, mtimeMs: s.mtimeMs, ino: s.ino })
const TEMP_SUFFIX = '.cloudsync-tmp'
/** A download's temp file, kept across restarts so it resumes (named by content hash). */
const PART_SUFFIX = '.cloudsync-part'
/** A part file nobody resumed for this long is removed at start. */
const PART_MAX_AGE_MS = 24 * 60 * 60 * 1000
/** A temp file being written is flushed to disk in the background every this many bytes. */
const FLUSH_BEHIND_BYTES = 64 * 1024 * 1024
/** Temp files this large are written mostly around the page cache (direct-writes.ts). */
const DIRECT_MIN_BYTES = 4 * 1024 * 1024

/** ENOTDIR, EISDIR and friends: the path is a file where a directory is, or the reverse. */
function clash(path: string, err: unknown): CloudsyncError | unknown {
  const code = errno(err)
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
    return new CloudsyncError('CONFLICT', `${path}: a file and a directory clash (${code})`)
  }
  return err
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * The synced folder on disk. Every path is validated, resolved under the root, and refused
 * when it would land outside it or in the state directory, including through a symlinked
 * directory (the nearest existing parent is resolved with realpath). Writes go to a temp
 * file in the state directory, are fsynced, then renamed (or hard-linked, when the target
 * must not exist) into place, and the parent directory is fsynced: a crash leaves either
 * the old file or the new one under the real name, never a partial one.
 */
export class NodeFileSystem implements SyncFileSystem {
  readonly root: string
  readonly stateDir: string
  readonly tmpDir: string
  /** The state directory as a remote path prefix, when it lies inside the root. */
  readonly #hidden: string | undefined
  readonly #markers = new FolderMarkers({
    folder: (path) => this.#folder(path),
    makeFolder: async (path) => {
      const abs = await this.#resolve(path)
      try {
        const created = await mkdir(abs, { recursive: true })
        if (created) await fsyncDir(dirname(created))
      } catch (err) {
        throw clash(path, err)
      }
    },
    removeFolder: (path) => this.removeFolder(path),
  })

  private constructor(root: string, stateDir: string) {
    this.root = root
    this.stateDir = stateDir
    this.tmpDir = join(stateDir, 'tmp')
    const rel = relative(root, stateDir)
    this.#hidden = rel && !rel.startsWith('..') ? rel.split(sep).join('/') : undefined
  }

  static async open(options: NodeFileSystemOptions): Promise<NodeFileSystem> {
    const root = await realpath(resolve(options.root))
    if (!(await stat(root)).isDirectory()) {
      throw new CloudsyncError('NOT_FOUND', `${options.root} is not a directory`)
    }
    const stateDir = resolve(root, options.stateDir ?? '.cloudsync')
    await mkdir(join(stateDir, 'tmp'), { recursive: true, mode: 0o700 })
    const fs = new NodeFileSystem(root, await realpath(stateDir))
    // A rename is only atomic within one file system.
    if ((await stat(fs.tmpDir)).dev !== (await stat(root)).dev) {
      throw new CloudsyncError(
        'INVALID_INPUT',
        `${fs.tmpDir} is not on the same file system as ${root}`,
      )
    }
    return fs
  }

  /**
   * Deletes temp files a crashed run left behind, and part files of downloads nobody
   * resumed for a day (the others wait to be resumed); call before the first write.
   */
  async removeLeftoverTemps(now = Date.now()): Promise<number> {
    let removed = 0
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name)
      if (name.endsWith(PART_SUFFIX)) {
        const age = now - ((await stat(path).catch(() => undefined))?.mtimeMs ?? now)
        if (age < PART_MAX_AGE_MS) continue
      } else if (!name.endsWith(TEMP_SUFFIX)) continue
      await unlink(path).catch(() => {})
      removed++
    }
    return removed
  }

  async stat(path: string): Promise<FileStat | undefined> {
    if (isFolderMarker(path)) return this.#markers.stat(path)
    const abs = await this.#resolve(path)
    try {
      const s = await lstat(abs)
      return s.isFile() ? toStat(s) : undefined
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined
      throw err
    }
  }

  async *list(options: ListOptions = {}): AsyncIterable<{ path: string; stat: FileStat }> {
    const onSkipped = options.onSkipped ?? (() => {})
    if (options.under === undefined) return yield* this.#walk(this.root, '', 0, onSkipped)
    const dir = await this.#resolve(options.under)
    // Only a real folder: a symlink to one is never followed.
    const s = await lstat(dir).catch(() => undefined)
    if (s?.isDirectory()) yield* this.#walk(dir, validatePath(options.under), s.ino, onSkipped)
  }

  async *#walk(
    dir: string,
    prefix: string,
    ino: number,
    onSkipped: (entry: SkippedEntry) => void,
  ): AsyncGenerator<{ path: string; stat: FileStat }> {
    let entries: Dirent<Buffer>[]
    try {
      // Names as bytes: one that is not UTF-8 would otherwise be silently mangled.
      entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' })
    } catch {
      return // removed or unreadable while walking: the next scan sees it
    }
    if (entries.length === 0 && prefix !== '')
      yield { path: `${prefix}/${FOLDER_MARKER}`, stat: FolderMarkers.statFor(ino) }
    const named = entries.map((entry) => ({ entry, name: entry.name.toString() }))
    for (const { entry, name } of named.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const abs = join(dir, name)
      if (abs === this.stateDir || name.endsWith(TEMP_SUFFIX)) continue
      const path = prefix ? `${prefix}/${name}` : name
      const why = !isUtf8(entry.name)
        ? UNSYNCABLE.notUtf8
        : (this.#nameProblem(path) ??
          (entry.isSymbolicLink()
            ? UNSYNCABLE.symlink
            : !entry.isFile() && !entry.isDirectory()
              ? UNSYNCABLE.special
              : undefined))
      if (why) {
        if (!this.#isHidden(path)) onSkipped({ path, reason: why })
        continue
      }
      const s = await lstat(abs).catch(() => undefined)
      if (s?.isDirectory()) yield* this.#walk(abs, path, s.ino, onSkipped)
      else if (s?.isFile()) yield { path, stat: toStat(s) }
    }
  }

  async whyUnsyncable(path: string): Promise<string | undefined> {
    // Only looks, and never outside the folder: such a path is nothing of ours.
    const segments = path.split('/')
    if (path.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..'))
      return undefined
    const abs = join(this.root, ...segments)
    if (abs === this.stateDir || abs.startsWith(this.stateDir + sep)) return undefined
    const s = await lstat(abs).catch(() => undefined)
    if (!s) return path.includes('\uFFFD') ? this.#notUtf8(abs) : undefined
    if (this.#isHidden(path)) return undefined
    return (
      this.#nameProblem(path) ??
      (s.isSymbolicLink()
        ? UNSYNCABLE.symlink
        : !s.isFile() && !s.isDirectory()
          ? UNSYNCABLE.special
          : undefined)
    )
  }

  /** A name a watcher reported with replacement characters: is its real name not UTF-8? */
  async #notUtf8(abs: string): Promise<string | undefined> {
    const names = await readdir(dirname(abs), { encoding: 'buffer' }).catch(() => [])
    const shown = basename(abs)
    return names.some((n) => !isUtf8(n) && n.toString() === shown) ? UNSYNCABLE.notUtf8 : undefined
  }

  /** Why a name found in the folder is no remote path, if it is not one. */
  #nameProblem(path: string): string | undefined {
    if (basename(path) === FOLDER_MARKER) return RESERVED_NAME
    try {
      return validatePath(path) === path ? undefined : UNSYNCABLE.notNfc
    } catch (err) {
      return UNSYNCABLE.badName((err as Error).message)
    }
  }

  async openRead(path: string): Promise<ReadHandle> {
    if (isFolderMarker(path)) return this.#markers.openRead(path)
    const abs = await this.#resolve(path)
    let fh: FileHandle
    try {
      fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW)
    } catch (err) {
      const code = errno(err)
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') {
        throw new CloudsyncError('NOT_FOUND', `No file at ${path}`)
      }
      throw err
    }
    const s = await fh.stat()
    if (!s.isFile()) {
      await fh.close()
      throw new CloudsyncError('NOT_FOUND', `${path} is not a file`)
    }
    return {
      stat: toStat(s),
      source: {
        readInto: async (into) => (await fh.read(into, 0, into.length, null)).bytesRead,
      },
      readRange: async (offset, length) => {
        const out = new Uint8Array(length)
        let got = 0
        while (got < length) {
          const { bytesRead } = await fh.read(out, got, length - got, offset + got)
          if (bytesRead === 0) {
            throw new CloudsyncError('CONFLICT', `${path} shrank below ${offset + length} bytes`)
          }
          got += bytesRead
        }
        return out
      },
      close: () => fh.close(),
    }
  }

  async createTemp(size: number): Promise<TempFile> {
    const tmp = join(this.tmpDir, `${randomUUID()}${TEMP_SUFFIX}`)
    return this.#markers.wrap(await this.#tempAt(tmp, await open(tmp, 'wx+'), size))
  }

  /**
   * The part file of a download of content `key` (a content hash), created or, after a
   * download was cut short, opened again with what it holds; the caller verifies that.
   * Unlike a temp file it stays when the process dies, and `keep` closes it for later.
   */
  async openPartial(key: string, size: number): Promise<{ temp: TempFile; resumed: boolean }> {
    if (!/^[0-9a-f]{64}$/.test(key))
      throw new CloudsyncError('INVALID_INPUT', `part file key ${key} is not a content hash`)
    const part = join(this.tmpDir, `${key}${PART_SUFFIX}`)
    try {
      const temp = await this.#tempAt(part, await open(part, 'wx+'), size)
      return { temp: this.#markers.wrap(temp), resumed: false }
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err
    }
    const fh = await open(part, 'r+')
    return { temp: this.#markers.wrap(await this.#tempAt(part, fh, size)), resumed: true }
  }

  async #tempAt(tmp: string, fh: FileHandle, size: number): Promise<TempFile> {
    try {
      if ((await fh.stat()).size !== size) await fh.truncate(size)
    } catch (err) {
      await fh.close()
      throw err
    }
    // Bulk bytes go around the page cache where the file system allows (direct-writes.ts).
    const direct = size >= DIRECT_MIN_BYTES ? await openDirect(tmp) : undefined
    const writeBytes = aroundPageCache(fh, direct)
    let done = false
    const live = () => {
      if (done) throw new CloudsyncError('INTERNAL', 'Temp file already committed or discarded')
    }
    // Write-behind: the disk starts on what was written while the rest is still arriving,
    // so the fsync at commit waits for the last stretch, not for the whole file.
    let unflushed = 0
    let flushing: Promise<void> | undefined
    const flushBehind = () => {
      if (unflushed < FLUSH_BEHIND_BYTES || flushing) return
      unflushed = 0
      flushing = fh
        .datasync()
        .catch(() => {}) // the commit's own fsync reports any error that matters
        .finally(() => {
          flushing = undefined
        })
    }
    return {
      write: async (bytes, position) => {
        live()
        unflushed += await writeBytes(bytes, position)
        flushBehind()
      },
      read: async (offset, length) => {
        live()
        const out = new Uint8Array(length)
        const { bytesRead } = await fh.read(out, 0, length, offset)
        if (bytesRead !== length)
          throw new CloudsyncError('INTERNAL', `Temp file holds no ${length} bytes at ${offset}`)
        return out
      },
      commit: async (path, expected) => {
        live()
        const target = await this.#resolve(path)
        if (!(await this.#matches(target, expected))) return false
        await flushing
        await fh.sync()
        if (!(await this.#place(tmp, target, expected === 'absent', path))) return false
        done = true
        await direct?.close()
        await fh.close()
        return toStat(await lstat(target))
      },
      discard: async () => {
        if (done) return
        done = true
        await flushing
        await direct?.close().catch(() => {})
        await fh.close().catch(() => {})
        await unlink(tmp).catch(() => {})
      },
      keep: async () => {
        if (done) return
        done = true
        await flushing
        await direct?.close().catch(() => {})
        await fh.close().catch(() => {})
      },
    }
  }

  async freeBytes(): Promise<number | undefined> {
    return statfs(this.tmpDir).then(
      (s) => s.bavail * s.bsize,
      () => undefined,
    )
  }

  async remove(path: string, expected?: FileStat): Promise<boolean> {
    if (isFolderMarker(path)) return this.#markers.remove(path, expected)
    const abs = await this.#resolve(path)
    const current = await this.#fileStat(abs)
    if (!current || (expected && !sameStat(current, expected))) return false
    try {
      await unlink(abs)
    } catch (err) {
      if (errno(err) === 'ENOENT') return false
      throw err
    }
    await fsyncDir(dirname(abs))
    return true
  }

  async rename(from: string, to: string, expected?: FileStat): Promise<boolean> {
    if (isFolderMarker(from) || isFolderMarker(to)) return this.#markers.rename(from, to, expected)
    const source = await this.#resolve(from)
    const target = await this.#resolve(to)
    const current = await this.#fileStat(source)
    if (!current || (expected && !sameStat(current, expected))) return false
    return this.#place(source, target, true, to)
  }

  async removeFolder(path: string): Promise<boolean> {
    const abs = await this.#resolve(path)
    try {
      await rmdir(abs)
    } catch (err) {
      const code = errno(err)
      if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR')
        return false
      throw err
    }
    await fsyncDir(dirname(abs))
    return true
  }

  async #folder(path: string): Promise<{ ino: number; empty: boolean } | undefined> {
    const abs = await this.#resolve(path)
    const s = await lstat(abs).catch(() => undefined)
    if (!s?.isDirectory()) return undefined
    // One entry tells: every watcher event asks of its parent, which may hold thousands.
    const dir = await opendir(abs).catch(() => undefined)
    if (!dir) return undefined
    try {
      return { ino: s.ino, empty: (await dir.read()) === null }
    } finally {
      await dir.close()
    }
  }

  /**
   * Moves `from` to `target`, creating parents. With `noReplace`, a hard link then an
   * unlink: the link fails atomically if anything is at the target, where a check before a
   * rename could replace a file the user created in between.
   */
  async #place(from: string, target: string, noReplace: boolean, path: string): Promise<boolean> {
    const parent = dirname(target)
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await mkdir(parent, { recursive: true })
        if (noReplace) {
          try {
            await link(from, target)
            await unlink(from)
          } catch (err) {
            const code = errno(err)
            if (code === 'EEXIST') return false
            // File systems without hard links: check, then rename.
            if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err
            if (!(await this.#matches(target, 'absent'))) return false
            await rename(from, target)
          }
        } else {
          await rename(from, target)
        }
        await fsyncDir(parent)
        if (created) await fsyncDir(dirname(created))
        if (dirname(from) !== parent) await fsyncDir(dirname(from))
        return true
      } catch (err) {
        // A concurrent prune may remove the parent between mkdir and rename: once more.
        if (errno(err) === 'ENOENT' && attempt === 0) continue
        throw clash(path, err)
      }
    }
  }

  async #matches(abs: string, expected: FileStat | 'absent' | 'any'): Promise<boolean> {
    if (expected === 'any') return true
    if (expected === 'absent') {
      const s = await lstat(abs).catch(() => undefined)
      // A folder in the way is no local edit to keep: a clash the caller must know of.
      if (s?.isDirectory()) {
        const path = relative(this.root, abs).split(sep).join('/')
        throw new CloudsyncError('CONFLICT', `${path}: a folder is where the file goes`)
      }
      return s === undefined
    }
    return sameStat(await this.#fileStat(abs), expected)
  }

  async #fileStat(abs: string): Promise<FileStat | undefined> {
    const s = await lstat(abs).catch(() => undefined)
    return s?.isFile() ? toStat(s) : undefined
  }

  #isHidden(path: string): boolean {
    const h = this.#hidden
    return h !== undefined && (path === h || path.startsWith(`${h}/`))
  }

  /** Validates, maps under the root, and checks no symlinked parent leads elsewhere. */
  async #resolve(path: string): Promise<string> {
    const valid = validatePath(path)
    if (this.#isHidden(valid)) {
      throw new CloudsyncError('INVALID_PATH', `${path} is inside the state directory`)
    }
    const abs = join(this.root, ...valid.split('/'))
    // The nearest existing ancestor decides where new directories would be created.
    for (let dir = dirname(abs); ; dir = dirname(dir)) {
      let real: string
      try {
        real = await realpath(dir)
      } catch (err) {
        if ((errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') && dir !== this.root) continue
        throw err
      }
      const inside = real === this.root || real.startsWith(this.root + sep)
      const inState = real === this.stateDir || real.startsWith(this.stateDir + sep)
      if (!inside || inState) {
        throw new CloudsyncError('INVALID_PATH', `${path} leads outside the folder (${real})`)
      }
      return abs
    }
  }
}
