import { verifyChunkId } from '../../protocol/crypto/chunk-cipher.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { PendingMessage } from '../../protocol/schemas/ws.ts'
import { type ChunkSource, getEach } from '../chunk-source.ts'
import type { ChunkCache } from '../ports/chunk-cache.ts'

export interface PrefetcherDeps {
  cache: ChunkCache
  swarm: ChunkSource
  /** This device: its own pending uploads need no prefetch. */
  deviceId: string
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
  /** A prefetch still running after this long is given up (the commit's fetch takes over). */
  maxWaitMs?: number
}

/**
 * Streaming sync: when another device starts an upload, the coordinator's `pending`
 * notice names its manifest at once, and this device pulls those chunks from the uploader
 * over the swarm into a cache while the cloud upload runs. When the commit arrives, the
 * file is written from the cache; the change waits for a prefetch still under way rather
 * than asking the same peers twice.
 */
export class Prefetcher {
  readonly counters = { notices: 0, chunks: 0, bytes: 0, full: 0 }
  readonly #deps: PrefetcherDeps
  readonly #running = new Map<string, Promise<void>>()
  readonly #sessions = new Map<string, string[]>()

  constructor(deps: PrefetcherDeps) {
    this.#deps = deps
  }

  onPending(notice: PendingMessage): void {
    if (notice.deviceId === this.#deps.deviceId || this.#running.has(notice.manifest.hash)) return
    this.counters.notices++
    const ids = [...new Set(notice.manifest.chunks.map((c) => c.id))]
    this.#sessions.set(notice.sessionId, ids)
    const task = this.#fetch(ids).catch((err) =>
      this.#deps.log('info', 'prefetch stopped', {
        path: notice.path,
        error: (err as Error).message,
      }),
    )
    this.#running.set(notice.manifest.hash, task)
    void task.finally(() => this.#running.delete(notice.manifest.hash))
  }

  async onPendingExpired(sessionId: string): Promise<void> {
    const ids = this.#sessions.get(sessionId)
    this.#sessions.delete(sessionId)
    if (ids) await this.#deps.cache.delete(ids)
  }

  /** Lets a prefetch of this content finish before the change that needs it is fetched. */
  async settle(change: Change): Promise<void> {
    const task = this.#running.get(change.hash)
    if (!task) return
    const { promise, resolve } = Promise.withResolvers<void>()
    const timer = setTimeout(resolve, this.#deps.maxWaitMs ?? 60_000)
    await Promise.race([task, promise])
    clearTimeout(timer)
  }

  /** The version is written (or was refused): its prefetched chunks are no longer needed. */
  async evict(change: Change): Promise<void> {
    if (change.chunks) await this.#deps.cache.delete(change.chunks.map((c) => c.id))
  }

  /** The cache as the fetcher's second source, after the device's own files. */
  source(): ChunkSource {
    const get = async (id: string): Promise<Uint8Array> => {
      const bytes = await this.#deps.cache.get(id)
      if (!bytes) throw new CloudsyncError('NOT_FOUND', `Chunk ${id} is not in the prefetch cache`)
      verifyChunkId(id, bytes)
      return bytes
    }
    return { name: 'prefetch', get, getMany: (ids, options) => getEach(get, ids, options) }
  }

  /** Served to other peers too: a prefetched chunk is as good as one from the uploader. */
  read(id: string): Promise<Uint8Array | undefined> {
    return this.#deps.cache.get(id)
  }

  async #fetch(ids: string[]): Promise<void> {
    for await (const result of this.#deps.swarm.getMany(ids)) {
      if (!result.bytes) continue
      if (!(await this.#deps.cache.put(result.id, result.bytes))) {
        this.counters.full++
        return
      }
      this.counters.chunks++
      this.counters.bytes += result.bytes.length
    }
  }
}
