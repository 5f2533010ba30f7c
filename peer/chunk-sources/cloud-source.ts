/**
 * Chunks of one file version from cloud storage, through the presigned GET URLs of the
 * coordinator's download answer. The answer is fetched once and reused until shortly
 * before it expires; a URL refused with 403 (expired early, clock skew, a rotated
 * signing key) makes it fetch a fresh answer and try that chunk once more.
 */
import { verifyChunkId } from '../../protocol/crypto/chunk-cipher.ts'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import type { DownloadResponse } from '../../protocol/schemas/files.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'
import {
  type ChunkFetchOptions,
  type ChunkResult,
  type ChunkSource,
  getEach,
} from './chunk-source.ts'

export interface CloudSourceInit {
  /** The download answer of the version (`api.download(fileId, version, signal)`). */
  fetchUrls(signal?: AbortSignal): Promise<DownloadResponse>
  /** GETs a presigned URL's bytes (`api.fetchChunk`). */
  fetchChunk(url: string, signal?: AbortSignal): Promise<Uint8Array>
  /** GETs in flight in `getMany`. */
  concurrency?: number
  /** URLs are refetched this long before they expire, so none expires mid-transfer. */
  expiryMarginMs?: number
  /** Milliseconds since the epoch (a virtual clock in simulation). */
  now?: () => number
}

export const DEFAULT_CLOUD_CONCURRENCY = 4
export const DEFAULT_EXPIRY_MARGIN_MS = 60_000

interface UrlTable {
  urls: Map<string, string>
  /** Refetch at or after this instant. */
  staleAt: number
}

export class CloudSource implements ChunkSource {
  readonly name = 'cloud'
  readonly #init: CloudSourceInit
  readonly #margin: number
  readonly #now: () => number
  /** The current answer, or the fetch of one in progress (shared by concurrent gets). */
  #table: Promise<UrlTable> | undefined

  constructor(init: CloudSourceInit) {
    this.#init = init
    this.#margin = init.expiryMarginMs ?? DEFAULT_EXPIRY_MARGIN_MS
    this.#now = init.now ?? Date.now
  }

  async get(id: string, options: ChunkFetchOptions = {}): Promise<Uint8Array> {
    const { signal } = options
    let table = await this.#urls(signal)
    let bytes: Uint8Array
    try {
      bytes = await this.#init.fetchChunk(urlOf(table, id), signal)
    } catch (err) {
      if (!isRefusedUrl(err)) throw err
      table = await this.#urls(signal, table)
      bytes = await this.#init.fetchChunk(urlOf(table, id), signal)
    }
    // The store is not trusted either: wrong bytes are CHUNK_CORRUPT, never data.
    verifyChunkId(id, bytes)
    return bytes
  }

  getMany(ids: readonly string[], options: ChunkFetchOptions = {}): AsyncIterable<ChunkResult> {
    const concurrency = this.#init.concurrency ?? DEFAULT_CLOUD_CONCURRENCY
    return getEach((id, o) => this.get(id, o), ids, { ...options, concurrency })
  }

  /** The URL table, refetched when stale or when `refused` is still the current one. */
  async #urls(signal: AbortSignal | undefined, refused?: UrlTable): Promise<UrlTable> {
    const current = this.#table
    if (current) {
      const table = await current.catch(() => undefined)
      if (table && table !== refused && this.#now() < table.staleAt) return table
      // Another get may have replaced it meanwhile: use that one rather than refetch again.
      if (this.#table !== current) return this.#urls(signal, refused)
    }
    const fetching = this.#init.fetchUrls(signal).then((answer) => this.#toTable(answer))
    this.#table = fetching
    // A failed fetch is not cached: the next get tries again.
    fetching.catch(() => {
      if (this.#table === fetching) this.#table = undefined
    })
    return fetching
  }

  #toTable(answer: DownloadResponse): UrlTable {
    const urls = new Map(answer.chunks.map((c) => [c.id, c.url]))
    const expires = Date.parse(answer.expiresAt)
    // An answer that is already within the margin is still used once rather than looped on.
    const staleAt = Math.max(expires - this.#margin, this.#now() + 1_000)
    return { urls, staleAt }
  }
}

/** A CloudSource for one version of a file through a coordinator client. */
export function cloudSource(
  api: Pick<CoordinatorApi, 'download' | 'fetchChunk'>,
  fileId: string,
  version: number | undefined,
  options: Omit<CloudSourceInit, 'fetchUrls' | 'fetchChunk'> = {},
): CloudSource {
  return new CloudSource({
    ...options,
    fetchUrls: (signal) => api.download(fileId, version, signal),
    fetchChunk: (url, signal) => api.fetchChunk(url, signal),
  })
}

function urlOf(table: UrlTable, id: string): string {
  const url = table.urls.get(id)
  if (!url) throw new CloudsyncError('NOT_FOUND', `Chunk ${id} is not part of this file version`)
  return url
}

/** 403s of S3 (FORBIDDEN) and of the embedded store (BAD_SIGNATURE): a URL gone stale. */
function isRefusedUrl(err: unknown): boolean {
  return isCloudsyncError(err, 'FORBIDDEN') || isCloudsyncError(err, 'BAD_SIGNATURE')
}
