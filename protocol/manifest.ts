import Type, { type Static } from 'typebox'
import {
  CHUNK_SIZE_CEILING,
  GCM_TAG_BYTES,
  MAX_CHUNKS_PER_FILE,
  MAX_FILE_SIZE,
  SHA256_HEX,
} from './constants.ts'
import { CloudsyncError } from './errors.ts'
import { parser } from './validate.ts'

/** Lowercase hex SHA-256. */
export const Sha256Hex = Type.String({ pattern: SHA256_HEX.source, minLength: 64, maxLength: 64 })

/**
 * One chunk of a file. `id` is SHA-256 of the ciphertext, so anyone can verify the bytes
 * without the key; `seal` is the plaintext hash masked with the domain secret (see
 * crypto/chunk-cipher.ts), so a device can derive the key while the coordinator cannot
 * confirm which plaintext a chunk holds.
 */
export const ManifestChunk = Type.Object(
  {
    index: Type.Integer({ minimum: 0, maximum: MAX_CHUNKS_PER_FILE - 1 }),
    id: Sha256Hex,
    offset: Type.Integer({ minimum: 0, maximum: MAX_FILE_SIZE }),
    size: Type.Integer({ minimum: 1, maximum: CHUNK_SIZE_CEILING }),
    cipherSize: Type.Integer({
      minimum: 1 + GCM_TAG_BYTES,
      maximum: CHUNK_SIZE_CEILING + GCM_TAG_BYTES,
    }),
    seal: Sha256Hex,
  },
  { additionalProperties: false },
)
export type ManifestChunk = Static<typeof ManifestChunk>

/** A file's content: its size, keyed content hash and ordered chunks. */
export const Manifest = Type.Object(
  {
    size: Type.Integer({ minimum: 0, maximum: MAX_FILE_SIZE }),
    hash: Sha256Hex,
    chunks: Type.Array(ManifestChunk, { maxItems: MAX_CHUNKS_PER_FILE }),
  },
  { additionalProperties: false },
)
export type Manifest = Static<typeof Manifest>

export interface ManifestLimits {
  maxFileSize: number
  maxChunks: number
  maxChunkSize: number
}

export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = Object.freeze({
  maxFileSize: MAX_FILE_SIZE,
  maxChunks: MAX_CHUNKS_PER_FILE,
  maxChunkSize: CHUNK_SIZE_CEILING,
})

const manifestShape = parser(Manifest, 'manifest')

/**
 * Checks shape and arithmetic: chunks in index order, each starting where the previous
 * ended (no gaps, no overlaps), sizes adding up to the file size, ciphertext one tag
 * longer than plaintext, and the configured limits. Returns the manifest typed.
 */
export function validateManifest(
  value: unknown,
  limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS,
): Manifest {
  const m = manifestShape.parse(value)
  const fail = (message: string, field: string): never => {
    throw new CloudsyncError('INVALID_MANIFEST', message, { field })
  }
  if (m.size > limits.maxFileSize) {
    throw new CloudsyncError(
      'TOO_LARGE',
      `File size ${m.size} exceeds the limit of ${limits.maxFileSize} bytes`,
      {
        field: 'size',
      },
    )
  }
  if (m.chunks.length > limits.maxChunks) {
    throw new CloudsyncError(
      'TOO_LARGE',
      `${m.chunks.length} chunks exceed the limit of ${limits.maxChunks}`,
      {
        field: 'chunks',
      },
    )
  }
  let expectedOffset = 0
  m.chunks.forEach((c, i) => {
    if (c.index !== i) fail(`chunks[${i}].index is ${c.index}, expected ${i}`, `chunks[${i}].index`)
    if (c.offset !== expectedOffset) {
      const what = c.offset < expectedOffset ? 'overlaps the previous chunk' : 'leaves a gap'
      fail(
        `chunks[${i}].offset ${c.offset} ${what} (expected ${expectedOffset})`,
        `chunks[${i}].offset`,
      )
    }
    if (c.size > limits.maxChunkSize) {
      fail(
        `chunks[${i}].size ${c.size} exceeds the chunk limit of ${limits.maxChunkSize}`,
        `chunks[${i}].size`,
      )
    }
    if (c.cipherSize !== c.size + GCM_TAG_BYTES) {
      fail(`chunks[${i}].cipherSize must be size + ${GCM_TAG_BYTES}`, `chunks[${i}].cipherSize`)
    }
    expectedOffset += c.size
  })
  if (expectedOffset !== m.size) {
    fail(`chunk sizes add up to ${expectedOffset}, but the file size is ${m.size}`, 'size')
  }
  return m
}

/**
 * The canonical encoding: JSON with a fixed key order and no white space, so equal
 * manifests are equal bytes (hashable, comparable, signable).
 */
export function encodeManifest(m: Manifest): string {
  const chunks = m.chunks.map((c) => ({
    index: c.index,
    id: c.id,
    offset: c.offset,
    size: c.size,
    cipherSize: c.cipherSize,
    seal: c.seal,
  }))
  return JSON.stringify({ size: m.size, hash: m.hash, chunks })
}

export function decodeManifest(text: string, limits?: ManifestLimits): Manifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new CloudsyncError('INVALID_MANIFEST', `Manifest is not JSON: ${(err as Error).message}`)
  }
  return validateManifest(value, limits)
}
