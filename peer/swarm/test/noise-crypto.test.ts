import { randomBytes } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { noiseCrypto } from '../noise-crypto.ts'

const bytes = (list: Uint8Array | Uint8ArrayList) =>
  Buffer.from(list instanceof Uint8Array ? list : list.subarray())

describe('noiseCrypto', () => {
  const k = randomBytes(32)
  const nonce = randomBytes(12)
  const ad = randomBytes(32)

  it('puts the same bytes on the wire as noise’s default, for every message size', () => {
    for (const size of [0, 100, 1199, 1200, 65_519]) {
      const plaintext = randomBytes(size)
      const ours = noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
      const theirs = defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
      expect(bytes(ours).equals(bytes(theirs))).toBe(true)
      // A plaintext in pieces (a muxer frame's header and body) encrypts the same.
      const pieces = new Uint8ArrayList(plaintext.subarray(0, 12), plaintext.subarray(12))
      const fromPieces = noiseCrypto.chaCha20Poly1305Encrypt(pieces, nonce, ad, k)
      expect(bytes(fromPieces).equals(bytes(theirs))).toBe(true)
    }
  })

  it('is opened by the default, and a flipped bit is refused', () => {
    const plaintext = randomBytes(65_519)
    const sealed = bytes(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
    const opened = defaultCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k)
    expect(bytes(opened).equals(plaintext)).toBe(true)
    sealed[1000]! ^= 1
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k)).toThrow()
  })
})
