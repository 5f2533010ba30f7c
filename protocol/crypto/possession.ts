import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

/**
 * Proof of possession for cross-account dedup (docs/DESIGN.md "Chunks, dedup, encryption"): in a
 * global domain an account may reference a chunk another account uploaded only after
 * proving it holds the bytes, because knowing a chunk id must not be enough to obtain the
 * file (the 2011 "Dropship" attack). The coordinator picks a fresh nonce and a random byte
 * range of the ciphertext; the answer is HMAC-SHA256 keyed with the nonce's bytes over that
 * range, which only a holder of the bytes can compute and which cannot be replayed for
 * another nonce or range.
 */

/** Nonce bytes: 256 bits, so a response can never be precomputed for a future challenge. */
export const POSSESSION_NONCE_BYTES = 32

/**
 * Shortest range asked for (unless the chunk is shorter): ciphertext bytes look random, so
 * guessing 64 of them is hopeless, while the coordinator reads little per challenge.
 */
export const POSSESSION_MIN_RANGE = 64

/** Longest range asked for: bounds what the coordinator reads from the blob store. */
export const POSSESSION_MAX_RANGE = 64 * 1024

export interface PossessionChallenge {
  /** Lowercase hex of the nonce bytes. */
  nonce: string
  offset: number
  length: number
}

/** Hex HMAC-SHA256 keyed with the nonce's bytes over ciphertext[offset, offset + length). */
export function possessionResponse(
  nonce: string,
  ciphertext: Uint8Array,
  offset: number,
  length: number,
): string {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 1) {
    throw new RangeError(`invalid challenge range: offset ${offset}, length ${length}`)
  }
  if (offset + length > ciphertext.byteLength) {
    throw new RangeError(
      `challenge range [${offset}, ${offset + length}) lies outside a ${ciphertext.byteLength}-byte chunk`,
    )
  }
  return createHmac('sha256', nonceBytes(nonce))
    .update(ciphertext.subarray(offset, offset + length))
    .digest('hex')
}

/**
 * Whether `response` answers the challenge, given only the challenged range's bytes (what
 * the coordinator reads from the blob store). Compared in constant time.
 */
export function verifyPossession(nonce: string, range: Uint8Array, response: string): boolean {
  if (range.byteLength === 0 || !/^[0-9a-f]{64}$/.test(response)) return false
  const expected = Buffer.from(possessionResponse(nonce, range, 0, range.byteLength), 'hex')
  return timingSafeEqual(expected, Buffer.from(response, 'hex'))
}

/**
 * A fresh challenge over a chunk of `cipherSize` bytes: a random nonce and a random range
 * whose length lies in [min, max] (clamped to the chunk) and whose offset is uniform over
 * the positions where it fits.
 */
export function challengeFor(
  cipherSize: number,
  range: { min?: number; max?: number } = {},
): PossessionChallenge {
  if (!Number.isSafeInteger(cipherSize) || cipherSize < 1) {
    throw new RangeError(`cannot challenge a chunk of ${cipherSize} bytes`)
  }
  const max = Math.min(range.max ?? POSSESSION_MAX_RANGE, cipherSize)
  const min = Math.min(range.min ?? POSSESSION_MIN_RANGE, max)
  const length = min === max ? max : randomInt(min, max + 1)
  const offset = randomInt(0, cipherSize - length + 1)
  return { nonce: randomBytes(POSSESSION_NONCE_BYTES).toString('hex'), offset, length }
}

function nonceBytes(nonce: string): Buffer {
  if (!/^(?:[0-9a-f]{2}){16,}$/.test(nonce)) {
    throw new RangeError('a challenge nonce is lowercase hex of at least 16 bytes')
  }
  return Buffer.from(nonce, 'hex')
}
