/**
 * Checks every BlobStore applies the same way, so the backends agree on what a valid key,
 * a valid chunk and a valid presign request are.
 */
import { createHash } from 'node:crypto'
import { CHUNK_SIZE_CEILING, GCM_TAG_BYTES } from '../../protocol/constants.ts'
import { CloudsyncError } from '../../protocol/errors.ts'

/** The largest chunk body: the largest plaintext chunk plus its AES-GCM tag. */
export const MAX_BLOB_BYTES = CHUNK_SIZE_CEILING + GCM_TAG_BYTES

/** S3 refuses presigned URLs valid for longer than seven days; every backend follows it. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * A blob key is a chunk id (lowercase hex SHA-256 of the bytes), optionally behind the
 * 32-hex-digit id of the account that uploaded it and a dot (see blob-keys.ts). Keys become
 * file names and S3 object names: anything else is refused before it reaches a path, so
 * `../` can never escape the store.
 */
const BLOB_KEY = /^(?:[0-9a-f]{32}\.)?[0-9a-f]{64}$/

/**
 * Where an account's upload of a chunk is stored: behind the account's id, so no account
 * can reference bytes another one PUT by naming their id (in a shared domain it must prove
 * possession: services/possession.ts). A null owner is the bare id of rows from before.
 */
export function blobKeyOf(owner: string | null, chunkId: string): string {
  return owner === null ? chunkId : `${owner.replaceAll('-', '')}.${chunkId}`
}

/** The chunk id a blob key names: the digest its bytes must have. */
export function chunkIdOfKey(key: string): string {
  return key.slice(-64)
}

/** The `x-amz-checksum-sha256` form of a key's chunk id: the same digest, base64. */
export function chunkIdToBase64(key: string): string {
  return Buffer.from(chunkIdOfKey(key), 'hex').toString('base64')
}

export function assertBlobKey(key: string): void {
  if (typeof key !== 'string' || !BLOB_KEY.test(key)) {
    throw new CloudsyncError(
      'INVALID_INPUT',
      'Blob key must be a lowercase hex SHA-256, optionally behind an account prefix',
      { key: String(key).slice(0, 120) },
    )
  }
}

/** Throws CHUNK_CORRUPT unless SHA-256(bytes) is the key's chunk id. */
export function assertChunkBytes(key: string, bytes: Uint8Array): void {
  assertBlobKey(key)
  assertBlobSize(bytes.byteLength)
  const actual = sha256Hex(bytes)
  if (actual !== chunkIdOfKey(key)) {
    throw new CloudsyncError('CHUNK_CORRUPT', `Chunk bytes hash to ${actual}, not to ${key}`, {
      key,
      actual,
    })
  }
}

export function assertBlobSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CloudsyncError('INVALID_INPUT', `Blob size must be a whole number of bytes`)
  }
  if (size > MAX_BLOB_BYTES) {
    throw new CloudsyncError('TOO_LARGE', `Blob of ${size} bytes exceeds ${MAX_BLOB_BYTES}`, {
      size,
      max: MAX_BLOB_BYTES,
    })
  }
}

/** A byte range a blob of `size` bytes (when known) can answer: non-empty, inside it. */
export function assertBlobRange(offset: number, length: number, size?: number): void {
  const whole = Number.isSafeInteger(offset) && Number.isSafeInteger(length)
  if (!whole || offset < 0 || length < 1 || offset + length > (size ?? MAX_BLOB_BYTES)) {
    throw new CloudsyncError(
      'INVALID_INPUT',
      `Range [${offset}, ${offset + length}) does not lie within the blob${size === undefined ? '' : ` of ${size} bytes`}`,
      { offset, length },
    )
  }
}

export function assertPresignSeconds(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new CloudsyncError(
      'INVALID_INPUT',
      `expiresInSeconds must be a whole number from 1 to ${MAX_PRESIGN_SECONDS}`,
    )
  }
}
