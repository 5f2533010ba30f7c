/**
 * The blob stores the coordinator serves itself (embedded directory, in-memory for tests):
 * their presigned URLs are HMAC-signed URLs of its own data-plane route, so they carry a
 * signer and take streamed bodies from that route.
 */
import type { Readable } from 'node:stream'
import type { BlobStore } from './blob-store.ts'
import type { UrlSigner } from './local-signing.ts'

/** An open stored blob, for streaming it out. */
export interface BlobReader {
  size: number
  stream: Readable
}

/**
 * A store whose presigned URLs point at the coordinator's own data-plane route
 * (local-route.ts) rather than at S3: the embedded default, and the in-memory test store.
 */
export interface ServedBlobStore extends BlobStore {
  readonly kind: 'memory' | 'local-disk'
  readonly signer: UrlSigner
  /**
   * Base URL devices reach the coordinator at, e.g. http://127.0.0.1:PORT. Settable after
   * listen, since only then is the port known.
   */
  setPublicUrl(url: string): void
  /**
   * Stores a streamed body without buffering it, verifying its size and hash on the way:
   * TOO_LARGE past `size` bytes, CHUNK_CORRUPT when short or when the hash is not the key;
   * on any error nothing is stored. The pieces are the store's once handed over: one that
   * is a buffer of its own (a socket read) may be released (detached) once stored.
   */
  receive(key: string, source: AsyncIterable<Uint8Array>, size: number): Promise<void>
  /** Opens a blob for streaming, or null when absent. */
  openRead(key: string): Promise<BlobReader | null>
}

/** The kinds whose URLs point at the coordinator's own route; S3's point at S3. */
const SERVED_KINDS: ReadonlySet<BlobStore['kind']> = new Set(['memory', 'local-disk'])

export function isServedBlobStore(store: BlobStore): store is ServedBlobStore {
  return SERVED_KINDS.has(store.kind)
}
