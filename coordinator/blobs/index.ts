/**
 * Chooses the coordinator's blob store from configuration: S3 when a bucket is configured,
 * the local directory served by the coordinator's own data-plane route otherwise.
 */
import type { BlobStore } from './blob-store.ts'
import { LocalDiskBlobStore } from './local-disk.ts'
import { createS3BlobStore, type S3BlobStoreConfig } from './s3.ts'

export { MAX_BLOB_BYTES } from './blob-checks.ts'
export type {
  BlobHead,
  BlobStore,
  PresignedGet,
  PresignedPut,
  PresignGetOptions,
  PresignPutOptions,
} from './blob-store.ts'
export { LocalDiskBlobStore, type LocalDiskBlobStoreConfig } from './local-disk.ts'
export { type BlobRouteOptions, blobRoute } from './local-route.ts'
export { BLOB_ROUTE_PATH, UrlSigner, type UrlSignerConfig } from './local-signing.ts'
export { MemoryBlobStore } from './memory.ts'
export { createS3BlobStore, S3BlobStore, type S3BlobStoreConfig } from './s3.ts'
export { type BlobReader, isServedBlobStore, type ServedBlobStore } from './served-blob-store.ts'

export interface BlobStoreConfig {
  /** Used when set with a non-empty bucket. */
  s3?: S3BlobStoreConfig | undefined
  /** Local store's root directory (embedded mode). */
  localDirectory: string
  /** Local store: base URL devices reach the coordinator at; else set after listen. */
  publicUrl?: string | undefined
  /** Local store: HMAC key for its URLs (16+ bytes); random per process when absent. */
  signingSecret?: string | Uint8Array | undefined
}

/**
 * The store for this configuration. A local store is a ServedBlobStore: register
 * `blobRoute` with it and call `setPublicUrl` once the port is known (`isServedBlobStore`).
 */
export function createBlobStore(config: BlobStoreConfig): BlobStore {
  if (config.s3?.bucket) return createS3BlobStore(config.s3)
  return new LocalDiskBlobStore({
    directory: config.localDirectory,
    ...(config.publicUrl && { publicUrl: config.publicUrl }),
    ...(config.signingSecret && { secret: config.signingSecret }),
  })
}

/**
 * Reads the blob settings from the environment: S3_BUCKET selects S3 (with S3_ENDPOINT,
 * S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE, S3_KEY_PREFIX,
 * S3_CREATE_BUCKET); otherwise BLOB_DIR (default `defaultDirectory`), PUBLIC_URL and
 * BLOB_SIGNING_SECRET configure the local store.
 */
export function blobStoreConfigFromEnv(
  env: Record<string, string | undefined>,
  defaultDirectory: string,
): BlobStoreConfig {
  const bucket = env.S3_BUCKET
  return {
    s3: bucket
      ? {
          bucket,
          region: env.S3_REGION || 'us-east-1',
          endpoint: env.S3_ENDPOINT || undefined,
          accessKeyId: env.S3_ACCESS_KEY_ID || undefined,
          secretAccessKey: env.S3_SECRET_ACCESS_KEY || undefined,
          forcePathStyle: isTrue(env.S3_FORCE_PATH_STYLE),
          keyPrefix: env.S3_KEY_PREFIX || undefined,
          createBucket: isTrue(env.S3_CREATE_BUCKET),
        }
      : undefined,
    localDirectory: env.BLOB_DIR || defaultDirectory,
    publicUrl: env.PUBLIC_URL || undefined,
    signingSecret: env.BLOB_SIGNING_SECRET || undefined,
  }
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1'
}
