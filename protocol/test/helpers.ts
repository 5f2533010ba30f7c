import { createHash } from 'node:crypto'

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so failures reproduce. */
export function seededBytes(size: number, seed: string): Uint8Array {
  const out = new Uint8Array(size)
  let block = 0
  for (let at = 0; at < size; at += 32) {
    const digest = createHash('sha256').update(seed).update(String(block++)).digest()
    out.set(digest.subarray(0, Math.min(32, size - at)), at)
  }
  return out
}

/** Splits bytes into reads of `size` (the last may be shorter). */
export function* reads(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

export const SMALL_CHUNKING = { minSize: 256, avgSize: 1024, maxSize: 4096 }
