import { createHash, timingSafeEqual } from 'node:crypto'
import { decryptChunk } from '../crypto/chunk-cipher.ts'
import { contentHash, unsealPlainHash } from '../crypto/keys.ts'
import { CloudsyncError } from '../errors.ts'
import type { Manifest } from '../manifest.ts'
import { releaseBytes } from '../memory/release-bytes.ts'

/** Where assembled plaintext goes: a file handle, a buffer, an in-memory file. */
export interface PositionalSink {
  /** Writes (or copies) `bytes` before it settles: the caller releases them after. */
  write(bytes: Uint8Array, position: number): Promise<void>
}

/**
 * Checks a manifest's content hash against its own sealed chunk hashes. A manifest from
 * another domain, or one whose chunk list was altered, fails here before any byte moves.
 */
export function verifyManifestHash(manifest: Manifest, secret: Uint8Array): void {
  const hashes = manifest.chunks.map((c) => unsealPlainHash(secret, c.id, c.seal))
  const expected = Buffer.from(contentHash(secret, hashes), 'hex')
  if (!timingSafeEqual(expected, Buffer.from(manifest.hash, 'hex'))) {
    throw new CloudsyncError(
      'INVALID_MANIFEST',
      'Manifest hash does not match its chunks (wrong account secret or altered manifest)',
    )
  }
}

/**
 * Rebuilds a file from its encrypted chunks, accepted in any order and from any source.
 * Each chunk is verified (id, size, tag, plaintext hash) before a byte of it is written;
 * the manifest's hash was checked against the chunk list up front, so a file whose every
 * chunk was accepted is exactly the file that was encoded.
 */
export class FileAssembler {
  readonly manifest: Manifest
  readonly #secret: Uint8Array
  readonly #sink: PositionalSink
  readonly #written = new Set<number>()
  readonly #writing = new Set<number>()
  bytesWritten = 0

  constructor(manifest: Manifest, secret: Uint8Array, sink: PositionalSink) {
    verifyManifestHash(manifest, secret)
    this.manifest = manifest
    this.#secret = secret
    this.#sink = sink
  }

  get done(): boolean {
    return this.#written.size === this.manifest.chunks.length
  }

  /** Whether chunk `index` is in the sink. */
  has(index: number): boolean {
    return this.#written.has(index)
  }

  /** Indexes not yet written (nor being written). */
  missing(): number[] {
    return this.manifest.chunks
      .map((c) => c.index)
      .filter((i) => !this.#written.has(i) && !this.#writing.has(i))
  }

  /**
   * Verifies, decrypts and writes chunk `index`. Returns false when that chunk was
   * already written or is being written (a duplicate from a second source).
   */
  async accept(
    index: number,
    ciphertext: Uint8Array,
    options: { idVerified?: boolean } = {},
  ): Promise<boolean> {
    const chunk = this.manifest.chunks[index]
    if (!chunk)
      throw new CloudsyncError(
        'NOT_FOUND',
        `No chunk ${index} in this file (it has ${this.manifest.chunks.length})`,
      )
    if (this.#written.has(index) || this.#writing.has(index)) return false
    this.#writing.add(index)
    let plaintext: Uint8Array
    try {
      plaintext = decryptChunk(this.#secret, chunk, ciphertext, options)
    } catch (err) {
      this.#writing.delete(index)
      throw err
    }
    try {
      await this.#sink.write(plaintext, chunk.offset)
    } finally {
      this.#writing.delete(index)
      releaseBytes(plaintext)
    }
    this.#written.add(index)
    this.bytesWritten += chunk.size
    return true
  }

  /**
   * Takes the chunks a partial file already holds (a download cut short): each chunk's
   * plaintext is read back and counts as written only when its SHA-256 is the one sealed
   * in the manifest. Anything else (never written, torn, altered) stays missing, to be
   * fetched again. Returns the indexes taken.
   */
  async recover(read: (offset: number, length: number) => Promise<Uint8Array>): Promise<number[]> {
    const taken: number[] = []
    for (const chunk of this.manifest.chunks) {
      if (this.#written.has(chunk.index) || this.#writing.has(chunk.index)) continue
      let plaintext: Uint8Array
      try {
        plaintext = await read(chunk.offset, chunk.size)
      } catch {
        continue
      }
      const expected = unsealPlainHash(this.#secret, chunk.id, chunk.seal)
      const actual = createHash('sha256').update(plaintext).digest()
      if (plaintext.length === chunk.size && timingSafeEqual(actual, expected)) {
        this.#written.add(chunk.index)
        this.bytesWritten += chunk.size
        taken.push(chunk.index)
      }
      releaseBytes(plaintext)
    }
    return taken
  }
}

/** A sink into one buffer, for small files and tests. */
export function bufferSink(size: number): PositionalSink & { bytes: Uint8Array } {
  const bytes = new Uint8Array(size)
  return {
    bytes,
    async write(chunk, position) {
      bytes.set(chunk, position)
    },
  }
}
