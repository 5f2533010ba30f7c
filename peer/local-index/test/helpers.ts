import { createHash, randomBytes } from 'node:crypto'
import { encryptChunk } from '../../../protocol/crypto/chunk-cipher.ts'
import { contentHash } from '../../../protocol/crypto/keys.ts'
import type { Manifest } from '../../../protocol/manifest.ts'
import type { FileStat } from '../../ports/file-system.ts'
import type { FileEntry } from '../local-index.ts'

export const secret = createHash('sha256').update('test secret').digest()

/** A manifest cut at fixed sizes (the real chunker is content-defined; the index does not care). */
export function encode(
  bytes: Uint8Array,
  chunkSize = 1000,
  key: Uint8Array = secret,
): { manifest: Manifest; plainHashes: string[]; ciphertexts: Buffer[] } {
  const chunks: Manifest['chunks'] = []
  const plainHashes: string[] = []
  const ciphertexts: Buffer[] = []
  const raw: Buffer[] = []
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    const plain = bytes.subarray(offset, offset + chunkSize)
    const e = encryptChunk(key, plain)
    chunks.push({
      index: chunks.length,
      id: e.id,
      offset,
      size: plain.length,
      cipherSize: e.ciphertext!.length,
      seal: e.seal,
    })
    plainHashes.push(e.plainHash.toString('hex'))
    raw.push(e.plainHash)
    ciphertexts.push(e.ciphertext!)
  }
  return {
    manifest: { size: bytes.length, hash: contentHash(key, raw), chunks },
    plainHashes,
    ciphertexts,
  }
}

export function entry(path: string, manifest: Manifest, stat: FileStat, version = 1): FileEntry {
  return {
    path,
    fileId: `file-${path}`,
    version,
    stat,
    contentHash: manifest.hash,
    manifest,
    syncedAt: 1_700_000_000_000,
  }
}

export const randomContent = (n: number): Uint8Array => new Uint8Array(randomBytes(n))
