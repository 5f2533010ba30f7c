import { reencryptChunk } from '../../protocol/crypto/chunk-cipher.ts'
import { unsealPlainHash } from '../../protocol/crypto/keys.ts'
import { isCloudsyncError } from '../../protocol/errors.ts'
import { FileAssembler, verifyManifestHash } from '../../protocol/pipeline/assemble.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { PendingMessage } from '../../protocol/schemas/ws.ts'
import type { ChunkSource } from '../chunk-sources/chunk-source.ts'
import type { ChunkFetcher } from '../chunk-sources/fetcher.ts'
import type { SyncFileSystem, TempFile } from '../ports/file-system.ts'
import { trace } from '../trace.ts'

export interface PrefetcherDeps {
  fs: SyncFileSystem
  secret: Uint8Array
  swarm: ChunkSource
  /** Counts what the prefetches bring in, as the source `prefetch`. */
  fetcher: ChunkFetcher
  /** This device: its own pending uploads need no prefetch. */
  deviceId: string
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
  /** A prefetch still running after this long is given up (the commit's fetch takes over). */
  maxWaitMs?: number
  /** Versions staged at once (each holds a temp file open); later notices wait for their commit. */
  maxStaged?: number
  /** The clock the notices' expiry is read against. */
  now?: () => number
  /**
   * Puts a fully prefetched version in place ahead of its commit (docs/LAN-FIRST.md), when
   * the rules allow; true when it did (the temp file is then committed). Refused once
   * `signal` aborts: the commit's applier has taken the staging over.
   */
  place?: (notice: PendingMessage, temp: TempFile, signal: AbortSignal) => Promise<boolean>
}

/** A version written ahead of its commit: its temp file, and which chunks are in it. */
export interface Staged {
  temp: TempFile
  assembler: FileAssembler
}

interface Staging {
  sessionId: string
  /** When the upload's session expires: a staging whose expiry notice was missed goes then. */
  expiresAt: number
  stop: AbortController
  /** Settles once the temp file exists; undefined when it could not be made. */
  ready: Promise<Staged | undefined>
  /** The same, synchronously, for serving peers. */
  staged?: Staged
  /** The prefetch itself; never rejects. */
  task: Promise<void>
  /** Placing the finished prefetch ahead of the commit; true once the temp file is in place. */
  placement?: Promise<boolean>
}

/**
 * Streaming sync: when another device starts an upload, the coordinator's `pending`
 * notice names its manifest at once, and this device pulls those chunks from the uploader
 * over the swarm straight into a temp file while the cloud upload runs. When the commit
 * arrives, the applier adopts that temp file, fetches whatever is still missing and puts
 * it in place: the file is written once, and the disk has been flushing it all along.
 */
export class Prefetcher {
  readonly counters = { notices: 0, staged: 0, adopted: 0, dropped: 0, placed: 0 }
  readonly #deps: PrefetcherDeps
  /** By content hash: one staging per version content, whatever path it is committed at. */
  readonly #staging = new Map<string, Staging>()
  readonly #source: ChunkSource

  constructor(deps: PrefetcherDeps) {
    this.#deps = deps
    const { swarm } = deps
    // The swarm under its own name, so the bytes pulled ahead of a commit count apart.
    this.#source = {
      name: 'prefetch',
      get: (id, options) => swarm.get(id, options),
      getMany: (ids, options) => swarm.getMany(ids, options),
    }
  }

  onPending(notice: PendingMessage): void {
    const { manifest } = notice
    if (notice.deviceId === this.#deps.deviceId || this.#staging.has(manifest.hash)) return
    this.counters.notices++
    this.#dropExpired()
    if (this.#staging.size >= (this.#deps.maxStaged ?? 8)) return
    trace('pending', { path: notice.path, chunks: manifest.chunks.length })
    const { fs, secret, fetcher, log } = this.#deps
    const stop = new AbortController()
    const staging: Staging = {
      sessionId: notice.sessionId,
      expiresAt: Date.parse(notice.expiresAt),
      stop,
      ready: Promise.resolve(undefined),
      task: Promise.resolve(),
    }
    staging.ready = (async () => {
      // Another domain's manifest, or an altered one, is refused before a file exists.
      verifyManifestHash(manifest, secret)
      const temp = await fs.createTemp(manifest.size)
      staging.staged = { temp, assembler: new FileAssembler(manifest, secret, temp) }
      this.counters.staged++
      return staging.staged
    })().catch((err) => {
      log('info', 'not prefetching an upload', {
        path: notice.path,
        error: (err as Error).message,
      })
      return undefined
    })
    staging.task = staging.ready.then(async (staged) => {
      if (!staged) return
      trace('pull-start', { path: notice.path })
      const filled = await fetcher.fill(staged.assembler, [this.#source], stop.signal).then(
        () => true,
        (err) => {
          if (stop.signal.aborted) return false
          log('info', 'prefetch stopped', { path: notice.path, error: (err as Error).message })
          // The temp file could not be written (a full disk): give its space back now.
          if (!isCloudsyncError(err)) void this.#drop(manifest.hash, staging)
          return false
        },
      )
      trace('pull-end', { path: notice.path, filled })
      // Not awaited by the task: placing waits for the path's lock, which the commit's
      // applier may hold while it waits for this task (adopt).
      if (filled && staged.assembler.done && this.#deps.place)
        staging.placement = this.#place(notice, staging, staged)
    })
    this.#staging.set(manifest.hash, staging)
  }

  async #place(notice: PendingMessage, staging: Staging, staged: Staged): Promise<boolean> {
    const placed = await this.#deps.place!(notice, staged.temp, staging.stop.signal).catch(
      (err) => {
        this.#deps.log('info', 'could not place an upload ahead of its commit', {
          path: notice.path,
          error: (err as Error).message,
        })
        return false
      },
    )
    if (placed) {
      // The temp file is the placed file now: nobody adopts or discards it any more.
      if (this.#staging.get(notice.manifest.hash) === staging)
        this.#staging.delete(notice.manifest.hash)
      this.counters.placed++
    }
    return placed
  }

  async onPendingExpired(sessionId: string): Promise<void> {
    for (const [hash, staging] of this.#staging) {
      if (staging.sessionId === sessionId) await this.#drop(hash, staging)
    }
  }

  /** Lets a prefetch of this content finish before the change that needs it is applied. */
  async settle(change: Change): Promise<void> {
    const staging = this.#staging.get(change.hash)
    if (!staging) return
    const { promise, resolve } = Promise.withResolvers<void>()
    const timer = setTimeout(resolve, this.#deps.maxWaitMs ?? 60_000)
    await Promise.race([staging.task, promise])
    clearTimeout(timer)
  }

  /**
   * Hands the staged temp file of this change's content to the caller, who then owns it
   * (commits or discards it). The prefetch is stopped first, so nothing writes into the
   * file any more and its assembler knows exactly which chunks are in it.
   */
  async adopt(change: Change): Promise<Staged | undefined> {
    const staging = this.#staging.get(change.hash)
    if (!staging) return undefined
    this.#staging.delete(change.hash)
    staging.stop.abort()
    await staging.task
    const staged = await staging.ready
    // A placement under way sees the abort once it has the path's lock, which the caller
    // holds: it leaves the temp file alone.
    if (!staged) return undefined
    const { manifest } = staged.assembler
    const chunks = change.chunks ?? []
    const same =
      manifest.size === change.size &&
      manifest.chunks.length === chunks.length &&
      manifest.chunks.every((c, i) => c.id === chunks[i]!.id && c.size === chunks[i]!.size)
    if (!same) {
      await staged.temp.discard()
      return undefined
    }
    this.counters.adopted++
    return staged
  }

  /** The version was applied without its staged file (or refused): the file goes. */
  async release(change: Change): Promise<void> {
    if (change.kind === 'deleted') return
    const staging = this.#staging.get(change.hash)
    if (staging) await this.#drop(change.hash, staging)
  }

  /** Stops every prefetch and removes their temp files. */
  async close(): Promise<void> {
    await Promise.all([...this.#staging].map(([hash, staging]) => this.#drop(hash, staging)))
  }

  /**
   * A chunk already staged, for another peer that asked: read back and encrypted again
   * (convergent, so the bytes are the uploader's), after checking its plaintext hash.
   */
  async read(id: string): Promise<Uint8Array | undefined> {
    for (const { staged } of this.#staging.values()) {
      if (!staged) continue
      const chunk = staged.assembler.manifest.chunks.find(
        (c) => c.id === id && staged.assembler.has(c.index),
      )
      if (!chunk) continue
      const { secret } = this.#deps
      const plaintext = await staged.temp.read(chunk.offset, chunk.size).catch(() => undefined)
      if (!plaintext) continue
      const plainHash = unsealPlainHash(secret, chunk.id, chunk.seal).toString('hex')
      const ciphertext = reencryptChunk(secret, plaintext, plainHash)
      if (ciphertext) return ciphertext
    }
    return undefined
  }

  /**
   * Stagings of uploads past their session's expiry: their `pending-expired` notice was
   * missed (the push channel was down), and they would hold their slot and file forever.
   */
  #dropExpired(): void {
    const now = this.#deps.now?.() ?? Date.now()
    for (const [hash, staging] of this.#staging) {
      if (staging.expiresAt < now) void this.#drop(hash, staging).catch(() => {})
    }
  }

  async #drop(hash: string, staging: Staging): Promise<void> {
    if (this.#staging.get(hash) === staging) this.#staging.delete(hash)
    staging.stop.abort()
    await staging.task
    const staged = await staging.ready
    // A placed temp file is the file at its path now.
    if (await staging.placement) return
    await staged?.temp.discard().catch(() => {})
    this.counters.dropped++
  }
}
