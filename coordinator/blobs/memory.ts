/**
 * In-memory BlobStore for tests. It is a served store: its presigned URLs point at the
 * data-plane route, so coordinator tests can run the whole upload flow without a disk.
 */
import { Readable } from 'node:stream'
import { CloudsyncError } from '../../protocol/errors.ts'
import { assertBlobKey, assertBlobRange, assertChunkBytes } from './blob-checks.ts'
import type {
  BlobHead,
  PresignedGet,
  PresignedPut,
  PresignGetOptions,
  PresignPutOptions,
} from './blob-store.ts'
import { UrlSigner, type UrlSignerConfig } from './local-signing.ts'
import { receiveChunk } from './receive-chunk.ts'
import type { BlobReader, ServedBlobStore } from './served-blob-store.ts'

export class MemoryBlobStore implements ServedBlobStore {
  readonly kind = 'memory'
  readonly signer: UrlSigner
  readonly #blobs = new Map<string, Uint8Array>()

  constructor(config: UrlSignerConfig = {}) {
    this.signer = new UrlSigner(config)
  }

  setPublicUrl(url: string): void {
    this.signer.setPublicUrl(url)
  }

  async head(key: string): Promise<BlobHead | null> {
    assertBlobKey(key)
    const bytes = this.#blobs.get(key)
    return bytes ? { size: bytes.byteLength } : null
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertChunkBytes(key, bytes)
    // Copy: the caller may reuse its buffer.
    this.#blobs.set(key, new Uint8Array(bytes))
  }

  async get(key: string): Promise<Uint8Array> {
    assertBlobKey(key)
    const bytes = this.#blobs.get(key)
    if (!bytes) throw new CloudsyncError('NOT_FOUND', `No blob ${key}`, { key })
    return new Uint8Array(bytes)
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const bytes = await this.get(key)
    assertBlobRange(offset, length, bytes.byteLength)
    return bytes.subarray(offset, offset + length)
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key)
    this.#blobs.delete(key)
  }

  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut> {
    return this.signer.presignPut(key, options)
  }

  async presignGet(key: string, options: PresignGetOptions): Promise<PresignedGet> {
    return this.signer.presignGet(key, options)
  }

  async receive(key: string, source: AsyncIterable<Uint8Array>, size: number): Promise<void> {
    const pieces: Uint8Array[] = []
    await receiveChunk(key, source, size, (piece) => {
      pieces.push(new Uint8Array(piece))
    })
    this.#blobs.set(key, Buffer.concat(pieces))
  }

  async openRead(key: string): Promise<BlobReader | null> {
    assertBlobKey(key)
    const bytes = this.#blobs.get(key)
    return bytes ? { size: bytes.byteLength, stream: Readable.from([bytes]) } : null
  }

  async check(): Promise<void> {}

  async close(): Promise<void> {
    this.#blobs.clear()
  }
}
