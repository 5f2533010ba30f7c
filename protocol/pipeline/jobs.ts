/** A finished chunk to hash and encrypt: where its plaintext sits in a shared slab. */
export interface ChunkJob {
  index: number
  slab: number
  offset: number
  length: number
  keepCiphertext: boolean
}

export interface ChunkResult {
  index: number
  id: string
  plainHash: string
  seal: string
  ciphertext?: Uint8Array
}

/** Runs chunk jobs: on worker threads, or inline for small files and tests. */
export interface ChunkExecutor {
  run(job: ChunkJob): Promise<ChunkResult>
  close(): Promise<void>
}
