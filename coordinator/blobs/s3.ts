/**
 * BlobStore over S3 (or any S3-compatible store). Devices move bytes straight to and from
 * the bucket through presigned URLs; a presigned PUT signs the chunk's SHA-256 checksum and
 * its length, so S3 itself rejects bytes that are not the chunk.
 */
import { CloudsyncError } from '../../protocol/errors.ts'
import {
  assertBlobKey,
  assertBlobRange,
  assertBlobSize,
  assertChunkBytes,
  assertPresignSeconds,
  chunkIdToBase64,
} from './blob-checks.ts'
import type {
  BlobHead,
  BlobStore,
  PresignedGet,
  PresignedPut,
  PresignGetOptions,
  PresignPutOptions,
} from './blob-store.ts'
import { type S3Api, type S3ClientConfig, sdkS3Api } from './s3-api.ts'

export interface S3BlobStoreOptions {
  bucket: string
  /** Prepended to every chunk id, e.g. `chunks/`; lets one bucket hold other things too. */
  keyPrefix?: string
  /** Create the bucket on check() when it is missing. Off by default: production buckets
   * are provisioned with their policies, and a typo should fail loudly, not make a bucket. */
  createBucket?: boolean
}

export interface S3BlobStoreConfig extends S3ClientConfig, S3BlobStoreOptions {}

/** Header S3 checks the body against (base64 SHA-256). */
const CHECKSUM_HEADER = 'x-amz-checksum-sha256'

export class S3BlobStore implements BlobStore {
  readonly kind = 's3'
  readonly #s3: S3Api
  readonly #bucket: string
  readonly #prefix: string
  readonly #createBucket: boolean

  constructor(s3: S3Api, options: S3BlobStoreOptions) {
    this.#s3 = s3
    this.#bucket = options.bucket
    this.#prefix = options.keyPrefix ?? ''
    this.#createBucket = options.createBucket ?? false
  }

  async head(key: string): Promise<BlobHead | null> {
    try {
      const out = await reachable(this.#s3.headObject(this.#object(key)))
      return { size: out.ContentLength ?? 0 }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    // Checked here first so a wrong chunk never costs a round trip; S3 checks again.
    assertChunkBytes(key, bytes)
    await reachable(
      this.#s3.putObject({
        ...this.#object(key),
        Body: bytes,
        ContentLength: bytes.byteLength,
        ChecksumSHA256: chunkIdToBase64(key),
      }),
    )
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await reachable(this.#s3.getObject(this.#object(key)))
    } catch (err) {
      if (isNotFound(err)) throw new CloudsyncError('NOT_FOUND', `No blob ${key}`, { key })
      throw err
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    assertBlobRange(offset, length)
    let bytes: Uint8Array
    try {
      // One ranged GET (RFC 9110 byte range, last byte inclusive): the rest never moves.
      bytes = await reachable(
        this.#s3.getObject({
          ...this.#object(key),
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      )
    } catch (err) {
      if (isNotFound(err)) throw new CloudsyncError('NOT_FOUND', `No blob ${key}`, { key })
      // 416: the range starts past the end of the object.
      if (statusOf(err) === 416) assertBlobRange(offset, length, offset)
      throw err
    }
    // A range running past the end comes back short rather than failing.
    if (bytes.byteLength !== length) assertBlobRange(offset, length, offset + bytes.byteLength)
    return bytes
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for an absent key too, which is the contract we want.
    await reachable(this.#s3.deleteObject(this.#object(key)))
  }

  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut> {
    assertBlobSize(options.size)
    assertPresignSeconds(options.expiresInSeconds)
    const checksum = chunkIdToBase64(key)
    const expiresAt = expiry(options.expiresInSeconds)
    const url = await this.#s3.presignPutObject(
      { ...this.#object(key), ContentLength: options.size, ChecksumSHA256: checksum },
      options.expiresInSeconds,
      // Kept a signed header (not hoisted to the query) so S3 verifies the body against it.
      new Set([CHECKSUM_HEADER]),
    )
    return {
      url,
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', [CHECKSUM_HEADER]: checksum },
      expiresAt,
    }
  }

  async presignGet(key: string, options: PresignGetOptions): Promise<PresignedGet> {
    assertPresignSeconds(options.expiresInSeconds)
    const expiresAt = expiry(options.expiresInSeconds)
    const url = await this.#s3.presignGetObject(this.#object(key), options.expiresInSeconds)
    return { url, expiresAt }
  }

  async check(): Promise<void> {
    try {
      await this.#s3.headBucket({ Bucket: this.#bucket })
      return
    } catch (err) {
      if (!isNotFound(err)) {
        throw new CloudsyncError('BUSY', `S3 bucket ${this.#bucket} unreachable: ${message(err)}`)
      }
    }
    if (!this.#createBucket) {
      throw new CloudsyncError('BUSY', `S3 bucket ${this.#bucket} does not exist`)
    }
    try {
      await this.#s3.createBucket({ Bucket: this.#bucket })
    } catch (err) {
      // Another coordinator instance may have created it a moment ago.
      if ((err as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw err
    }
  }

  async close(): Promise<void> {
    this.#s3.destroy()
  }

  #object(key: string): { Bucket: string; Key: string } {
    assertBlobKey(key)
    return { Bucket: this.#bucket, Key: this.#prefix + key }
  }
}

export function createS3BlobStore(config: S3BlobStoreConfig): S3BlobStore {
  return new S3BlobStore(sdkS3Api(config), config)
}

/** Computed before signing, so the URL is valid at least until the time we report. */
function expiry(seconds: number): Date {
  return new Date(Date.now() + seconds * 1000)
}

/**
 * An S3 call whose failure says the store cannot serve now (no answer, a socket error, a
 * 5xx such as SlowDown) rejects with UNAVAILABLE (503) naming the cause; answers that mean
 * something (404, 403, 416) stay as they are for the caller.
 */
async function reachable<T>(call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (err) {
    const status = statusOf(err)
    if (status !== undefined && status < 500) throw err
    throw new CloudsyncError('UNAVAILABLE', `The blob store (S3) is unavailable: ${message(err)}`, {
      dependency: 's3',
    })
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
