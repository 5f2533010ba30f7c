import { readdir } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { type FSWatcher, watch } from 'chokidar'
import type { FolderWatcher } from '../ports/watcher.ts'

/** When a new directory is walked again, and how much of it at most. */
const REWALK_DELAYS_MS = [250, 1_500]
const REWALK_MAX_ENTRIES = 10_000

export interface ChokidarWatcherOptions {
  /** The synced folder. */
  root: string
  /** Never reported (the index, keys and temp files live there); default `<root>/.cloudsync`. */
  stateDir?: string
  /** A batch is delivered once no event came for this long. */
  quietMs?: number
  /** ...or once its first path has waited this long, so a steady stream still gets through. */
  maxDelayMs?: number
  /** A file is reported once its size has not changed for this long (it is being written). */
  stabilityMs?: number
  /** chokidar's errors (e.g. out of inotify watches); the periodic rescan covers the gap. */
  onError?: (err: unknown) => void
}

/** How often chokidar re-stats a file that is being written. */
const STABILITY_POLL_MS = 10

/**
 * The folder's changes from chokidar, as relative POSIX paths in coalesced batches. It may
 * report too much (directories, files that came and went): the sync logic stats each path.
 * Latency matters (a small file should reach the other devices in well under 300 ms), so
 * the stability and quiet windows are tens of milliseconds, not seconds.
 */
export class ChokidarWatcher implements FolderWatcher {
  readonly #root: string
  readonly #stateDir: string
  readonly #quietMs: number
  readonly #maxDelayMs: number
  readonly #stabilityMs: number
  readonly #onError: (err: unknown) => void
  #watcher: FSWatcher | undefined
  #pending = new Set<string>()
  #firstAt = 0
  /** A vanished path holds its batch until then: it may be half of a rename. */
  #holdUntil = 0
  #timer: NodeJS.Timeout | undefined
  readonly #rewalks = new Set<NodeJS.Timeout>()

  constructor(options: ChokidarWatcherOptions) {
    this.#root = resolve(options.root)
    this.#stateDir = resolve(this.#root, options.stateDir ?? '.cloudsync')
    this.#quietMs = options.quietMs ?? 30
    this.#maxDelayMs = options.maxDelayMs ?? 500
    this.#stabilityMs = options.stabilityMs ?? 50
    this.#onError = options.onError ?? (() => {})
  }

  async start(onPaths: (paths: string[]) => void): Promise<void> {
    if (this.#watcher) throw new Error('ChokidarWatcher already started')
    const state = this.#stateDir
    const watcher = watch(this.#root, {
      ignoreInitial: true,
      followSymlinks: false,
      // chokidar's `atomic` holds every unlink back 100 ms to merge editor save dances;
      // the sync logic stats the path anyway, so report at once.
      atomic: false,
      ignored: (path) => path === state || path.startsWith(state + sep),
      awaitWriteFinish: { stabilityThreshold: this.#stabilityMs, pollInterval: STABILITY_POLL_MS },
    })
    this.#watcher = watcher
    watcher.on('all', (event, path) => this.#add(event, path, onPaths))
    watcher.on('error', (err) => this.#onError(err))
    await new Promise<void>((ready) => watcher.once('ready', ready))
  }

  async stop(): Promise<void> {
    for (const t of this.#rewalks) clearTimeout(t)
    this.#rewalks.clear()
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#pending.clear()
    const watcher = this.#watcher
    this.#watcher = undefined
    await watcher?.close()
  }

  #add(event: string, path: string, onPaths: (paths: string[]) => void): void {
    const rel = relative(this.#root, path)
    if (!rel || rel.startsWith('..')) return
    const now = Date.now()
    if (this.#pending.size === 0) this.#firstAt = now
    this.#pending.add(sep === '/' ? rel : rel.split(sep).join('/'))
    // A rename is an unlink now and an add only once the new path has passed the
    // stability wait: keep the unlink's batch open until then, so both halves reach the
    // sync logic together and go up as a move rather than a delete and a re-upload.
    if (event === 'addDir') this.#scheduleRewalks(path, onPaths)
    if (event === 'unlink' || event === 'unlinkDir')
      this.#holdUntil = now + 2 * this.#stabilityMs + 10 * STABILITY_POLL_MS + this.#quietMs
    clearTimeout(this.#timer)
    const quiet = Math.max(this.#quietMs, this.#holdUntil - now)
    const wait = Math.min(quiet, this.#firstAt + this.#maxDelayMs - now)
    this.#timer = setTimeout(() => this.#flush(onPaths), Math.max(0, wait))
  }

  /**
   * Files written into a directory in the moment before chokidar starts watching it can
   * go unreported (seen here: 3 of 36 files in freshly made folders). Walking a new
   * directory again shortly after it appears reports them; extra reports are harmless,
   * since the sync logic compares every path with its index.
   */
  #scheduleRewalks(dir: string, onPaths: (paths: string[]) => void): void {
    for (const delay of REWALK_DELAYS_MS) {
      const timer = setTimeout(() => {
        this.#rewalks.delete(timer)
        void this.#rewalk(dir, onPaths)
      }, delay)
      this.#rewalks.add(timer)
    }
  }

  async #rewalk(dir: string, onPaths: (paths: string[]) => void): Promise<void> {
    if (!this.#watcher) return
    // chokidar does not track the files it missed either, so their removal would go
    // unreported too (a quarter of them, in a test of 90 files in fresh folders): adding
    // the directory again makes it read the directory and track what is there now.
    this.#watcher.add(dir)
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
    for (const entry of entries.slice(0, REWALK_MAX_ENTRIES)) {
      const path = join(entry.parentPath, entry.name)
      if (!entry.isFile() || path === this.#stateDir || path.startsWith(this.#stateDir + sep))
        continue
      this.#add('add', path, onPaths)
    }
  }

  #flush(onPaths: (paths: string[]) => void): void {
    this.#timer = undefined
    this.#holdUntil = 0
    if (!this.#watcher || this.#pending.size === 0) return
    const paths = [...this.#pending]
    this.#pending = new Set()
    onPaths(paths)
  }
}
