import type { EncryptedChunk } from '../crypto/chunk-cipher.ts'

/** A finished chunk to hash and encrypt: where its plaintext sits in a shared slab. */
export interface ChunkJob {
  index: number
  slab: number
  offset: number
  length: number
  keepCiphertext: boolean
}

export interface ChunkJobResult {
  index: number
  id: string
  plainHash: string
  /** CRC-32 of the plaintext (EncryptedChunk.plainCheck). */
  plainCheck: number
  seal: string
  ciphertext?: Uint8Array
}

/** What a job answers for the chunk it encrypted (its ciphertext stays with the caller). */
export function chunkJobResult(
  index: number,
  chunk: EncryptedChunk,
): Omit<ChunkJobResult, 'ciphertext'> {
  return {
    index,
    id: chunk.id,
    plainHash: chunk.plainHash.toString('hex'),
    plainCheck: chunk.plainCheck,
    seal: chunk.seal,
  }
}

/** Runs chunk jobs: on worker threads, or inline for small files and tests. */
export interface ChunkExecutor {
  run(job: ChunkJob): Promise<ChunkJobResult>
  close(): Promise<void>
}
