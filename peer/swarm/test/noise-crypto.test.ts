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

  it('opens what the default sealed into the message’s own bytes, whole or in pieces', () => {
    for (const size of [1200, 65_519]) {
      const plaintext = randomBytes(size)
      const sealed = bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
      // As noise calls it: dst is the ciphertext's own bytes, without the tag.
      const dst = sealed.subarray(0, size)
      const opened = noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k, dst)
      expect(opened).toBe(dst)
      expect(bytes(opened).equals(plaintext)).toBe(true)
      // Split across two socket reads: noise hands a list, and dst is a copy of the text.
      const again = bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
      const list = new Uint8ArrayList(again.subarray(0, 700), again.subarray(700))
      const listDst = list.subarray(0, size)
      const fromList = noiseCrypto.chaCha20Poly1305Decrypt(list, nonce, ad, k, listDst)
      expect(bytes(fromList).equals(plaintext)).toBe(true)
      // Split inside the tag: the text is one read, and dst a view of those very bytes.
      const third = bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
      const inTag = new Uint8ArrayList(third.subarray(0, size + 8), third.subarray(size + 8))
      const inTagDst = inTag.subarray(0, size)
      expect(inTagDst.buffer).toBe(third.buffer)
      const fromInTag = noiseCrypto.chaCha20Poly1305Decrypt(inTag, nonce, ad, k, inTagDst)
      expect(bytes(fromInTag).equals(plaintext)).toBe(true)
    }
  })

  it('refuses a flipped bit in place and hands nothing out', () => {
    const plaintext = randomBytes(65_519)
    const sealed = bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
    sealed[500]! ^= 1
    expect(() =>
      noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k, sealed.subarray(0, 65_519)),
    ).toThrow()
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
