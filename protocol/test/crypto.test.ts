import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  decryptChunk,
  decryptChunkAsync,
  encryptChunk,
  encryptChunkAsync,
  reencryptChunkAsync,
} from '../crypto/chunk-cipher.ts'
import { createDomainSecret } from '../crypto/keys.ts'
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

  it('rejects the wrong key and a wrong seal', () => {
    expectCode(() => decryptChunk(createDomainSecret(), ref, ciphertext), 'DECRYPT_FAILED')
    const otherSeal = encryptChunk(secret, Uint8Array.of(1, 2, 3)).seal
    expectCode(
      () => decryptChunk(secret, { ...ref, seal: otherSeal }, ciphertext),
      'DECRYPT_FAILED',
    )
  })
})

describe('convergent chunk encryption on the thread pool (WebCrypto)', () => {
  const chunk = encryptChunk(secret, plaintext)
  const ciphertext = chunk.ciphertext!
  const ref = { id: chunk.id, seal: chunk.seal, size: plaintext.length }

  async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | undefined> {
    try {
      await promise
    } catch (err) {
      if (isCloudsyncError(err)) return err.code
      throw err
    }
    return undefined
  }

  it('produces exactly the synchronous bytes, id and seal', async () => {
    const same = await encryptChunkAsync(secret, plaintext)
    expect(same.id).toBe(chunk.id)
    expect(same.seal).toBe(chunk.seal)
    expect(same.ciphertext.equals(ciphertext)).toBe(true)
    const withHash = await encryptChunkAsync(secret, plaintext, { plainHash: chunk.plainHash })
    expect(withHash.id).toBe(chunk.id)
  })

  it('re-encrypts to the recorded bytes, and refuses a plaintext that changed', async () => {
    const plainHash = chunk.plainHash.toString('hex')
    const again = await reencryptChunkAsync(secret, plaintext, { plainHash })
    expect(again?.equals(ciphertext)).toBe(true)
    const changed = Uint8Array.from(plaintext)
    changed[0]! ^= 1
    expect(await reencryptChunkAsync(secret, changed, { plainHash })).toBeUndefined()
  })

  it('decrypts what the synchronous side encrypted, and the reverse', async () => {
    expect((await decryptChunkAsync(secret, ref, ciphertext)).equals(Buffer.from(plaintext))).toBe(
      true,
    )
    const one = await encryptChunkAsync(secret, Uint8Array.of(9))
    expect([...decryptChunk(secret, { id: one.id, seal: one.seal }, one.ciphertext)]).toEqual([9])
  })

  it('fails every tamper case with the same code as the synchronous side', async () => {
    const flipped = (at: number) => {
      const bad = Buffer.from(ciphertext)
      bad[at]! ^= 1
      return bad
    }
    const forged = flipped(2000)
    const forgedId = createHash('sha256').update(forged).digest('hex')
    const cases: [string, () => Promise<unknown>, ErrorCode][] = [
      ['body bit', () => decryptChunkAsync(secret, ref, flipped(10)), 'CHUNK_CORRUPT'],
      [
        'tag bit',
        () => decryptChunkAsync(secret, ref, flipped(ciphertext.length - 3)),
        'CHUNK_CORRUPT',
      ],
      ['truncated', () => decryptChunkAsync(secret, ref, ciphertext.subarray(1)), 'CHUNK_CORRUPT'],
      [
        'forged id',
        () => decryptChunkAsync(secret, { ...ref, id: forgedId }, forged),
        'DECRYPT_FAILED',
      ],
      [
        'wrong key',
        () => decryptChunkAsync(createDomainSecret(), ref, ciphertext),
        'DECRYPT_FAILED',
      ],
    ]
    for (const [name, run, code] of cases) expect(await codeOf(run()), name).toBe(code)
  })
})
