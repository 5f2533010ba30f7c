import { createCipheriv, createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decryptChunk, encryptChunk, reencryptChunk } from '../crypto/chunk-cipher.ts'
import { chunkKey, chunkNonce, createDomainSecret, sealPlainHash, sha256 } from '../crypto/keys.ts'
import { type ErrorCode, isCloudsyncError } from '../errors.ts'
import { seededBytes } from './helpers.ts'

const secret = createDomainSecret()
const plaintext = seededBytes(700_000, 'crypto')

function expectCode(fn: () => unknown, code: ErrorCode) {
  let error: unknown
  try {
    fn()
  } catch (err) {
    error = err
  }
  expect(isCloudsyncError(error, code), `expected ${code}, got ${String(error)}`).toBe(true)
}

describe('convergent chunk encryption', () => {
  const chunk = encryptChunk(secret, plaintext)
  const ciphertext = chunk.ciphertext!
  const ref = { id: chunk.id, seal: chunk.seal, size: plaintext.length }

  it('round-trips, and names the chunk by the SHA-256 of its ciphertext', () => {
    expect(ciphertext.length).toBe(plaintext.length + 16)
    expect(createHash('sha256').update(ciphertext).digest('hex')).toBe(chunk.id)
    expect(decryptChunk(secret, ref, ciphertext).equals(Buffer.from(plaintext))).toBe(true)
  })

  it('is convergent within a domain and differs across domains', () => {
    const again = encryptChunk(secret, plaintext)
    expect(again.id).toBe(chunk.id)
    expect(again.ciphertext!.equals(ciphertext)).toBe(true)
    const elsewhere = encryptChunk(createDomainSecret(), plaintext)
    expect(elsewhere.id).not.toBe(chunk.id)
  })

  it('never shows the plaintext hash: the seal differs from it and from other domains', () => {
    expect(chunk.seal).not.toBe(chunk.plainHash.toString('hex'))
    expect(encryptChunk(createDomainSecret(), plaintext).seal).not.toBe(chunk.seal)
  })

  it('computes the same id whether or not it keeps the ciphertext', () => {
    const idOnly = encryptChunk(secret, plaintext, { keepCiphertext: false })
    expect(idOnly.id).toBe(chunk.id)
    expect(idOnly.ciphertext).toBeUndefined()
  })

  it('handles a 1-byte chunk', () => {
    const one = encryptChunk(secret, Uint8Array.of(7))
    expect([...decryptChunk(secret, { id: one.id, seal: one.seal }, one.ciphertext!)]).toEqual([7])
  })

  it.each([
    ['first byte', 0],
    ['middle byte', 350_000],
    ['last body byte', plaintext.length - 1],
    ['tag byte', plaintext.length + 5],
  ])('rejects a flipped bit in the %s as corrupt', (_, at) => {
    const bad = Buffer.from(ciphertext)
    bad[at]! ^= 1
    expectCode(() => decryptChunk(secret, ref, bad), 'CHUNK_CORRUPT')
  })

  it('rejects a flipped bit even when the attacker also fixes the id (GCM tag)', () => {
    const bad = Buffer.from(ciphertext)
    bad[1000]! ^= 0x80
    const forgedId = createHash('sha256').update(bad).digest('hex')
    expectCode(() => decryptChunk(secret, { ...ref, id: forgedId }, bad), 'DECRYPT_FAILED')
  })

  it('rejects truncation and extension', () => {
    expectCode(
      () => decryptChunk(secret, ref, ciphertext.subarray(0, ciphertext.length - 1)),
      'CHUNK_CORRUPT',
    )
    expectCode(
      () => decryptChunk(secret, ref, Buffer.concat([ciphertext, Buffer.of(0)])),
      'CHUNK_CORRUPT',
    )
    expectCode(
      () => decryptChunk(secret, { id: ref.id, seal: ref.seal }, Buffer.alloc(3)),
      'CHUNK_CORRUPT',
    )
  })

  it("refuses other bytes sealed under the chunk's own key: they are another ciphertext (its id)", () => {
    // What only a holder of the domain secret could make, and what decryption no longer
    // re-hashes the plaintext to catch: the id check does.
    const key = chunkKey(secret, chunk.plainHash)
    const other = Buffer.from(plaintext)
    other[0]! ^= 1
    const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(key)).setAAD(
      Buffer.from('cloudsync/chunk/v1'),
    )
    const forged = Buffer.concat([cipher.update(other), cipher.final(), cipher.getAuthTag()])
    const forgedId = sha256(forged).toString('hex')
    const forgedRef = {
      ...ref,
      id: forgedId,
      seal: sealPlainHash(secret, forgedId, chunk.plainHash),
    }
    expect(decryptChunk(secret, forgedRef, forged).equals(other)).toBe(true)
    expectCode(() => decryptChunk(secret, ref, forged), 'CHUNK_CORRUPT')
  })

  it('rejects the wrong key and a wrong seal', () => {
    expectCode(() => decryptChunk(createDomainSecret(), ref, ciphertext), 'DECRYPT_FAILED')
    const otherSeal = encryptChunk(secret, Uint8Array.of(1, 2, 3)).seal
    expectCode(
      () => decryptChunk(secret, { ...ref, seal: otherSeal }, ciphertext),
      'DECRYPT_FAILED',
    )
  })
})

describe('re-encryption and decryption of bytes already checked', () => {
  const chunk = encryptChunk(secret, plaintext)
  const ciphertext = chunk.ciphertext!
  const ref = { id: chunk.id, seal: chunk.seal, size: plaintext.length }
  const plainHash = chunk.plainHash.toString('hex')

  it('re-encrypts to the recorded bytes, and refuses a plaintext that changed', () => {
    expect(reencryptChunk(secret, plaintext, plainHash)?.equals(ciphertext)).toBe(true)
    const changed = Uint8Array.from(plaintext)
    changed[0]! ^= 1
    expect(reencryptChunk(secret, changed, plainHash)).toBeUndefined()
  })

  it('checks a re-read by its CRC-32 when the encryption recorded one', () => {
    const check = chunk.plainCheck
    expect(reencryptChunk(secret, plaintext, plainHash, check)?.equals(ciphertext)).toBe(true)
    const changed = Uint8Array.from(plaintext)
    changed[plaintext.length - 1]! ^= 0x40
    expect(reencryptChunk(secret, changed, plainHash, check)).toBeUndefined()
  })

  it('skips the id hash for verified bytes, but still fails altered ones on the GCM tag', () => {
    expect(decryptChunk(secret, ref, ciphertext, { idVerified: true }).equals(plaintext)).toBe(true)
    const bad = Buffer.from(ciphertext)
    bad[10]! ^= 1
    expectCode(() => decryptChunk(secret, ref, bad, { idVerified: true }), 'DECRYPT_FAILED')
    expectCode(
      () => decryptChunk(secret, ref, ciphertext.subarray(1), { idVerified: true }),
      'CHUNK_CORRUPT',
    )
  })
})
