import type { ChunkCache } from '../ports/chunk-cache.ts'

/** A byte-bounded in-memory chunk cache, for tests and the simulator. */
export class MemoryChunkCache implements ChunkCache {
  readonly #chunks = new Map<string, Uint8Array>()
  readonly #budget: number
  #bytes = 0

  constructor(budgetBytes = 256 * 1024 * 1024) {
    this.#budget = budgetBytes
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    return this.#chunks.get(id)
  }

  async put(id: string, ciphertext: Uint8Array): Promise<boolean> {
    if (this.#chunks.has(id)) return true
    if (this.#bytes + ciphertext.length > this.#budget) return false
    this.#chunks.set(id, ciphertext)
    this.#bytes += ciphertext.length
    return true
  }

  async delete(ids: Iterable<string>): Promise<void> {
    for (const id of ids) {
      const bytes = this.#chunks.get(id)
      if (!bytes) continue
      this.#chunks.delete(id)
      this.#bytes -= bytes.length
    }
  }
}
