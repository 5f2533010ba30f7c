import { conflictCopyPath, parentOf } from '../../protocol/paths.ts'
import { type SyncFileSystem, sameStat } from '../ports/file-system.ts'
import type { SyncIndex } from '../ports/sync-index.ts'
import type { PathLocks } from './path-locks.ts'

export interface ClashMoverDeps {
  fs: SyncFileSystem
  index: SyncIndex
  locks: PathLocks
  /** Names the conflict copies, as the coordinator names its own. */
  deviceName: string
  now: () => number
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
}

/** Conflict names tried for one path before giving up (`… 2)`, `… 3)` …). */
const MAX_NAME_ATTEMPTS = 20

/**
 * Makes room for a remote file where this device has a folder of its name, or a file
 * where one of its parent folders goes: one device replaced a file by a folder (or the
 * reverse) while another kept using the old one (docs/DESIGN.md "Conflicts"). The remote
 * version won the path on the coordinator, so it takes the path here too, and nothing
 * local is lost: what the device has not synced moves aside to a conflict-copy name and
 * uploads from there as new files. A synced, unedited file in the way is one the log
 * deleted before the path became the other kind; it goes, as that deletion would take it.
 */
export class ClashMover {
  readonly #deps: ClashMoverDeps

  constructor(deps: ClashMoverDeps) {
    this.#deps = deps
  }

  /**
   * Clears the way for a file at `path`; false when nothing stood in it. `held`: paths
   * the caller has locked already (the change being applied), which are not locked again.
   */
  async makeRoom(path: string, held: readonly string[] = []): Promise<boolean> {
    const { fs } = this.#deps
    let moved = false
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/')
      const stat = await fs.stat(ancestor)
      if (!stat) continue
      // Only one ancestor can be a file: nothing lies below a file.
      moved = (await this.#clearFile(ancestor, held, () => this.#freeName(ancestor))) || moved
      break
    }
    const inside: string[] = []
    for await (const file of fs.list({ under: path })) inside.push(file.path)
    if (inside.length === 0) return moved
    const aside = await this.#freeName(path)
    for (const file of inside) {
      const target = `${aside}${file.slice(path.length)}`
      moved = (await this.#clearFile(file, held, async () => target)) || moved
    }
    // The folders it held, deepest first: the file takes the path.
    const folders = new Set([path])
    for (const file of inside)
      for (let dir = parentOf(file); dir.length > path.length; dir = parentOf(dir)) folders.add(dir)
    for (const dir of [...folders].sort((a, b) => b.length - a.length)) await fs.removeFolder(dir)
    return moved
  }

  /** Removes a synced, unedited file, or moves anything else to the name `aside` gives. */
  async #clearFile(
    path: string,
    held: readonly string[],
    aside: () => Promise<string>,
  ): Promise<boolean> {
    const { fs, index, locks, log } = this.#deps
    // The path's own lock: an upload reading it finishes first, and indexes what it sent.
    const locked = <T>(fn: () => Promise<T>) =>
      held.includes(path) ? fn() : locks.with([path], fn)
    return locked(async () => {
      const stat = await fs.stat(path)
      if (!stat) return false
      const entry = index.getFile(path)
      if (entry && sameStat(stat, entry.stat)) {
        if (!(await fs.remove(path, stat))) return false
        index.removeFile(path)
        return true
      }
      const to = await aside()
      if (!(await fs.rename(path, to, stat))) return false
      // The old path's version is no longer on disk: the content uploads anew from `to`.
      if (entry) index.removeFile(path)
      log('info', 'moved a local file aside for a remote one of the other kind', {
        path,
        to,
      })
      return true
    })
  }

  /** A conflict-copy name of `path` with nothing at it, file or folder. */
  async #freeName(path: string): Promise<string> {
    const { fs, deviceName, now } = this.#deps
    for (let attempt = 1; ; attempt++) {
      const name = conflictCopyPath(path, deviceName, new Date(now()), attempt)
      if (attempt >= MAX_NAME_ATTEMPTS || (await isFree(fs, name))) return name
    }
  }
}

async function isFree(fs: SyncFileSystem, path: string): Promise<boolean> {
  if (await fs.stat(path)) return false
  const inside = fs.list({ under: path })[Symbol.asyncIterator]()
  const first = await inside.next()
  await inside.return?.()
  return first.done === true
}
