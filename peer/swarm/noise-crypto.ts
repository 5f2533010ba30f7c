import { createCipheriv, createDecipheriv } from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { releaseBytes } from '../../protocol/memory/release-bytes.ts'

/** Below this, noise's own choice (WebAssembly) is faster than a Node cipher object. */
const SMALL_MESSAGE = 1200
const TAG_BYTES = 16

/**
 * Noise's crypto with fewer buffers left to the collector, for the 64 KiB transport
 * messages that carry chunks:
 * - sent: the default joins the ciphertext and its tag into a fresh buffer (Buffer.concat),
 *   a second allocation and copy of every byte a device serves. Handed back as a list, the
 *   two go to the socket as they are. The bytes on the wire are the same.
 * - received: the default (on Node) decrypts into a fresh buffer per message, a GiB of
 *   garbage per GiB received, although noise offers the message's own bytes (`dst`) to
 *   decrypt into. The plaintext is copied there and its buffer released at once.
 */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
    if (plaintext.byteLength < SMALL_MESSAGE) {
      return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    }
    const cipher = createCipheriv('chacha20-poly1305', k, nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    const out = new Uint8ArrayList()
    for (const piece of plaintext instanceof Uint8Array ? [plaintext] : plaintext) {
      out.append(cipher.update(piece))
    }
    // A stream cipher has nothing left to flush; final() only closes the cipher.
    const rest = cipher.final()
    if (rest.byteLength > 0) out.append(rest)
    out.append(cipher.getAuthTag())
    return out
  },
  chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
    const textLength = ciphertext.byteLength - TAG_BYTES
    if (ciphertext.byteLength < SMALL_MESSAGE || dst?.byteLength !== textLength) {
      return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    }
    const decipher = createDecipheriv('chacha20-poly1305', k, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(ad, { plaintextLength: textLength })
    decipher.setAuthTag(ciphertext.subarray(textLength))
    const text =
      ciphertext instanceof Uint8Array
        ? [ciphertext.subarray(0, textLength)]
        : ciphertext.sublist(0, textLength)
    // Each piece is read whole before its plaintext lands at the same offsets of `dst`
    // (which may be the very bytes read): a stream cipher's output lines up with its input.
    // Unauthenticated bytes written there are never handed out: final() throws first.
    let at = 0
    for (const piece of text) {
      const plain = decipher.update(piece)
      dst.set(plain, at)
      at += plain.byteLength
      releaseBytes(plain)
    }
    decipher.final()
    return dst
  },
}
