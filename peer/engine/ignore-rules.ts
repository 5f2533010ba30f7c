import ignore, { type Ignore } from 'ignore'
import { type FileStat, type SyncFileSystem, sameStat } from '../ports/file-system.ts'

/** The folder's own rules, gitignore syntax, at its root; synced like any file (docs/sync-problems.md "Ignored paths"). */
export const IGNORE_FILE = '.cloudsyncignore'

/** A rules file larger than this is refused (the defaults still apply) rather than parsed. */
export const IGNORE_FILE_MAX_BYTES = 256 * 1024

/** What no device wants from another: editor swap and temp files, OS litter, state folders. */
export const DEFAULT_IGNORES = [
  // vim swap files and its write test file; emacs backups and lock files
  '*.swp',
  '*.swo',
  '*~',
  '.#*',
  '4913',
  '*.tmp',
  // LibreOffice lock files
  '.~lock.*#',
  // macOS, Windows
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '._*',
  // a device's state folder (the root's is never listed; a nested one is another folder's)
  '.cloudsync/',
]

/**
 * Which paths of the folder are never synced: the defaults plus `.cloudsyncignore`. The
 * rules file is read again when its stat changes (`refresh`); a file that cannot be read
 * or is too large leaves the defaults alone in force, and `error` says why.
 */
export class IgnoreRules {
  readonly #fs: SyncFileSystem
  #rules: Ignore = ignore().add(DEFAULT_IGNORES)
  /** The rules file as last read: absent, or its stat. */
  #read: FileStat | 'absent' | undefined
  error: string | undefined

  constructor(fs: SyncFileSystem) {
    this.#fs = fs
  }

  ignores(path: string): boolean {
    if (path === IGNORE_FILE) return false
    try {
      return this.#rules.ignores(path)
    } catch {
      // A path `ignore` refuses (absolute, `..`) is no folder path: the unsyncable checks report it.
      return false
    }
  }

  /** Reads the rules file again if it changed; true when the rules may have changed. */
  async refresh(): Promise<boolean> {
    const stat = await this.#fs.stat(IGNORE_FILE).catch(() => undefined)
    const read = this.#read
    if (stat ? read !== 'absent' && sameStat(stat, read) : read === 'absent') return false
    this.#read = stat ?? 'absent'
    const rules = ignore().add(DEFAULT_IGNORES)
    this.error = undefined
    if (stat) {
      try {
        rules.add(await this.#readRules(stat))
      } catch (err) {
        this.error = `${IGNORE_FILE}: ${(err as Error).message}; only the default rules apply`
      }
    }
    this.#rules = rules
    return true
  }

  async #readRules(stat: FileStat): Promise<string> {
    if (stat.size > IGNORE_FILE_MAX_BYTES)
      throw new Error(`${stat.size} bytes, more than ${IGNORE_FILE_MAX_BYTES}`)
    const handle = await this.#fs.openRead(IGNORE_FILE)
    try {
      const bytes = await handle.readRange(0, handle.stat.size)
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    } finally {
      await handle.close()
    }
  }
}
