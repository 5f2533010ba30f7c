import { createCipheriv, createDecipheriv, createHash, type Hash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { GCM_TAG_BYTES } from '../constants.ts'
import { CloudsyncError } from '../errors.ts'
import { releaseBytes } from '../memory/release-bytes.ts'
import { chunkKey, chunkNonce, sealPlainHash, unsealPlainHash } from './keys.ts'

/** Versions the ciphertext format: a chunk encrypted under another layout fails to open. */
const AAD = Buffer.from('cloudsync/chunk/v1')

/**
 * Encrypting in cache-sized slices keeps each slice in L2 between the cipher and the
 * ciphertext hash; whole-chunk updates also allocate a fresh 4 MiB output per call. Each
 * slice the cipher returns is copied out and released at once (releaseBytes): left to the
 * collector, they would start V8's full collections as often as the chunks themselves.
 */
const SLICE = 64 * 1024

export interface EncryptedChunk {
  /** SHA-256 of the ciphertext, hex: the chunk's name everywhere outside the device. */
  id: string
  plainHash: Buffer
  /**
   * CRC-32 of the plaintext: how a device re-reading its own file for the upload checks
   * the bytes are still the ones it encrypted, at three times SHA-256's speed. Not a
   * security check: whoever receives the ciphertext verifies it against the id.
   */
  plainCheck: number
  seal: string
  /** Ciphertext with the GCM tag appended; absent when the caller only wanted the id. */
  ciphertext?: Buffer
}

/**
 * Convergent encryption (docs/DESIGN.md "Chunks, dedup, encryption"): key = HMAC(domain secret, SHA-256(plaintext)),
 * AES-256-GCM with a nonce derived from the key, id = SHA-256(ciphertext). With
 * `keepCiphertext: false` the ciphertext is hashed slice by slice and dropped.
 */
export function encryptChunk(
  secret: Uint8Array,
  plaintext: Uint8Array,
  { keepCiphertext = true, plainHash }: { keepCiphertext?: boolean; plainHash?: Buffer } = {},
): EncryptedChunk {
  const hash = plainHash ?? createHash('sha256').update(plaintext).digest()
  const idHash = createHash('sha256')
  // Never from the shared pool: the buffer may be transferred to another thread whole.
  const out = keepCiphertext ? Buffer.allocUnsafeSlow(plaintext.length + GCM_TAG_BYTES) : undefined
  const plainCheck = seal(chunkKey(secret, hash), plaintext, out, idHash)
  const id = idHash.digest('hex')
  return {
    id,
    plainHash: hash,
    plainCheck,
    seal: sealPlainHash(secret, id, hash),
    ...(out && { ciphertext: out }),
  }
}

/**
 * AES-256-GCM under a chunk key, in cache-sized slices: each slice (then the tag) goes
 * into `out` when given (ciphertext then tag) and into `idHash` when given. Answers the
 * plaintext's CRC-32 when there is an `idHash` (a first encryption), taken slice by slice
 * while each is in cache.
 */
function seal(
  key: Buffer,
  plaintext: Uint8Array,
  out: Buffer | undefined,
  idHash: Hash | undefined,
): number {
  const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(key)).setAAD(AAD)
  let at = 0
  const take = (piece: Buffer) => {
    idHash?.update(piece)
    if (out) at += piece.copy(out, at)
    releaseBytes(piece)
  }
  let check = 0
  for (let offset = 0; offset < plaintext.length; offset += SLICE) {
    const slice = plaintext.subarray(offset, offset + SLICE)
    if (idHash) check = crc32(slice, check)
    take(cipher.update(slice))
  }
  take(cipher.final())
  take(cipher.getAuthTag())
  return check
}

export interface ChunkRef {
  id: string
  seal: string
  /** Plaintext size, when known: a ciphertext of another length is refused unread. */
  size?: number
}

/**
 * Verifies and opens a chunk: the bytes must hash to the id and the GCM tag must hold.
 * Any flipped bit, truncation or wrong key is a typed error, never wrong bytes.
 *
 * The plaintext is not hashed again: the id names exactly one ciphertext, which the device
 * that chose the id made from the sealed hash's plaintext under the key derived from it,
 * and the tag proves the bytes were not altered since. Bytes that decrypt under that key to
 * something else can only be a different ciphertext, with a different id. (Re-hashing cost
 * a receiver a third of its hashing: a full SHA-256 pass over every byte it takes in.)
 */
export function decryptChunk(
  secret: Uint8Array,
  ref: ChunkRef,
  ciphertext: Uint8Array,
  { idVerified = false }: { idVerified?: boolean } = {},
): Buffer {
  // A source that already hashed the bytes against the id (every ChunkSource does) spares
  // a second pass; the GCM tag is checked all the same.
  const actualId = idVerified ? ref.id : createHash('sha256').update(ciphertext).digest('hex')
  checkCiphertext(ref, ciphertext, actualId)
  const plainHash = unsealPlainHash(secret, ref.id, ref.seal)
  const key = chunkKey(secret, plainHash)
  const body = ciphertext.subarray(0, ciphertext.length - GCM_TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, chunkNonce(key)).setAAD(AAD)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - GCM_TAG_BYTES))
  const out = Buffer.allocUnsafe(body.length)
  let at = 0
  try {
    for (let offset = 0; offset < body.length; offset += SLICE) {
      const piece = decipher.update(body.subarray(offset, offset + SLICE))
      at += piece.copy(out, at)
      releaseBytes(piece)
    }
    decipher.final()
  } catch {
    throw new CloudsyncError(
      'DECRYPT_FAILED',
      `Chunk ${ref.id} failed authentication (wrong key or altered bytes)`,
    )
  }
  return out
}

/** The checks before any key is derived: the bytes are the chunk named, whole. */
function checkCiphertext(ref: ChunkRef, ciphertext: Uint8Array, actualId: string): void {
  if (actualId !== ref.id) {
    throw new CloudsyncError(
      'CHUNK_CORRUPT',
      `Chunk bytes hash to ${actualId.slice(0, 12)}…, not ${ref.id.slice(0, 12)}…`,
    )
  }
  if (ref.size !== undefined && ciphertext.length !== ref.size + GCM_TAG_BYTES) {
    throw new CloudsyncError(
      'CHUNK_CORRUPT',
      `Chunk ${ref.id} has ${ciphertext.length} bytes, expected ${ref.size + GCM_TAG_BYTES}`,
    )
  }
  if (ciphertext.length < GCM_TAG_BYTES)
    throw new CloudsyncError('CHUNK_CORRUPT', `Chunk ${ref.id} is truncated`)
}

/** Throws CHUNK_CORRUPT unless SHA-256(bytes) is `id`: the check every receiver makes first. */
export function verifyChunkId(id: string, bytes: Uint8Array): void {
  const actual = createHash('sha256').update(bytes).digest('hex')
  if (actual !== id) {
    throw new CloudsyncError(
      'CHUNK_CORRUPT',
      `Chunk bytes hash to ${actual.slice(0, 12)}…, not ${id.slice(0, 12)}…`,
    )
  }
}

/**
 * Encrypts again a chunk this process encrypted before, under the same secret (an upload
 * re-reading its file to send it, or to serve it to a peer meanwhile): undefined when the
 * plaintext read afresh is no longer the one recorded: its CRC-32 differs from
 * `plainCheck` when that is known (the upload that just encoded the file), else its
 * SHA-256 from `plainHash` (hex).
 * Otherwise the ciphertext is the one whose hash was recorded as its id (encryption is
 * convergent: same plaintext, same key, same bytes), so it is not hashed again, which
 * spares a third of the work; the store and peers verify the id on receipt all the same.
 */
export function reencryptChunk(
  secret: Uint8Array,
  plaintext: Uint8Array,
  plainHash: string,
  plainCheck?: number,
): Buffer | undefined {
  let hash: Buffer
  if (plainCheck === undefined) {
    hash = createHash('sha256').update(plaintext).digest()
    if (hash.toString('hex') !== plainHash) return undefined
  } else {
    if (crc32(plaintext) !== plainCheck) return undefined
    hash = Buffer.from(plainHash, 'hex')
  }
  const out = Buffer.allocUnsafeSlow(plaintext.length + GCM_TAG_BYTES)
  seal(chunkKey(secret, hash), plaintext, out, undefined)
  return out
}
