/**
 * The coordinator's chunk byte store. Keys are chunk ids (lowercase hex SHA-256 of the bytes),
 * so a store can check every write itself. In production devices move bytes straight to and
 * from the store through presigned URLs; `put` and `get` exist for the coordinator's own
 * use (tests, repair, proof-of-possession challenges).
 */

export interface BlobHead {
  size: number
}

export interface PresignPutOptions {
  /** Exact byte count the client will send; the URL is bound to it. */
  size: number
  expiresInSeconds: number
}

export interface PresignGetOptions {
  expiresInSeconds: number
}

export interface PresignedPut {
  url: string
  method: 'PUT'
  /**
   * Headers the client must send with the body. Where the backend supports it they carry
   * the SHA-256 checksum, so the store itself rejects wrong bytes.
   */
  headers: Record<string, string>
  expiresAt: Date
}

export interface PresignedGet {
  url: string
  expiresAt: Date
}

export interface BlobStore {
  readonly kind: 'memory' | 'local-disk' | 's3'
  /** Size of a stored blob, or null when absent. */
  head(key: string): Promise<BlobHead | null>
  /** Stores bytes; CHUNK_CORRUPT (and nothing stored) unless SHA-256(bytes) is the key. */
  put(key: string, bytes: Uint8Array): Promise<void>
  /** The stored bytes; NOT_FOUND when absent. */
  get(key: string): Promise<Uint8Array>
  /**
   * Bytes [offset, offset + length) of a stored blob, without reading the rest (checking a
   * proof of possession reads a few KiB of a 16 MiB chunk). NOT_FOUND when absent;
   * INVALID_INPUT when the range is empty or does not lie within the blob.
   */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>
  /** Removes a blob; removing an absent blob is not an error. */
  delete(key: string): Promise<void>
  presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut>
  /** Does not check existence: a GET of an absent blob answers 404. */
  presignGet(key: string, options: PresignGetOptions): Promise<PresignedGet>
  /** Resolves when the store can serve requests (readiness probe); throws otherwise. */
  check(): Promise<void>
  close(): Promise<void>
}
