import { createHash, createHmac, randomBytes } from 'node:crypto'

/**
 * Everything derived from a dedup domain's secret, in one place. The secret never leaves
 * the account's devices (docs/DESIGN.md "Keys: who knows what"); the coordinator sees only what these
 * functions output and cannot invert any of it.
 */

export const DOMAIN_SECRET_BYTES = 32

export function createDomainSecret(): Uint8Array {
  return randomBytes(DOMAIN_SECRET_BYTES)
}

export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest()
}

/** Convergent: the same plaintext in the same domain always gets the same key. */
export function chunkKey(secret: Uint8Array, plainHash: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(plainHash).digest()
}

/**
 * Each key encrypts exactly one plaintext (the one whose hash it came from), so a nonce
 * fixed by the key never repeats under that key.
 */
export function chunkNonce(key: Uint8Array): Buffer {
  return createHmac('sha256', key).update('cloudsync/chunk-nonce').digest().subarray(0, 12)
}

/**
 * Masks a chunk's plaintext hash for the manifest: hash XOR HMAC(secret, chunk id). The
 * pad is unique per chunk id, and without the secret a holder of the manifest cannot tell
 * which plaintext a chunk holds (no confirmation-of-file against the coordinator).
 */
export function sealPlainHash(secret: Uint8Array, chunkId: string, plainHash: Uint8Array): string {
  return xor(plainHash, sealPad(secret, chunkId)).toString('hex')
}

export function unsealPlainHash(secret: Uint8Array, chunkId: string, seal: string): Buffer {
  return xor(Buffer.from(seal, 'hex'), sealPad(secret, chunkId))
}

/** The plaintext hash of every chunk of a manifest, hex, in order. */
export function unsealPlainHashes(
  secret: Uint8Array,
  chunks: readonly { id: string; seal: string }[],
): string[] {
  return chunks.map((c) => unsealPlainHash(secret, c.id, c.seal).toString('hex'))
}

/**
 * A file's content hash, as the manifest carries it: HMAC(domain secret, SHA-256 over the
 * concatenated plaintext SHA-256 of each chunk). The inner hash is Dropbox's content_hash
 * construction over our chunks: it binds every byte at no extra pass over the data (a
 * plain whole-file SHA-256 would be a third SHA pass, 25% of pipeline throughput), and a
 * device can check it from the manifest alone. Keyed, so equal files compare equal inside
 * the domain and reveal nothing outside it.
 */
export function contentHash(secret: Uint8Array, chunkPlainHashes: readonly Uint8Array[]): string {
  const tree = createHash('sha256')
  for (const h of chunkPlainHashes) tree.update(h)
  return createHmac('sha256', secret)
    .update('cloudsync/content')
    .update(tree.digest())
    .digest('hex')
}

function sealPad(secret: Uint8Array, chunkId: string): Buffer {
  return createHmac('sha256', secret).update('cloudsync/seal').update(chunkId).digest()
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32)
  for (let i = 0; i < 32; i++) out[i] = a[i]! ^ b[i]!
  return out
}
