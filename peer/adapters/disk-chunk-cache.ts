import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SHA256_HEX } from '../../protocol/constants.ts'
import type { ChunkCache } from '../ports/chunk-cache.ts'

/**
 * Prefetched chunks as files in the state directory (`cache/<id>`), so a 1 GiB file
 * prefetched from a LAN peer costs disk, not memory. Bounded in bytes; emptied at start,
 * since a previous run's prefetches are for versions long written or abandoned.
 */
export class DiskChunkCache implements ChunkCache {
  readonly #dir: string
  readonly #budget: number
  readonly #sizes = new Map<string, number>()
  #bytes = 0

  private constructor(dir: string, budgetBytes: number) {
    this.#dir = dir
    this.#budget = budgetBytes
  }

  static async open(dir: string, budgetBytes = 4 * 1024 ** 3): Promise<DiskChunkCache> {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true, mode: 0o700 })
    return new DiskChunkCache(dir, budgetBytes)
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    if (!this.#sizes.has(id)) return undefined
    return readFile(this.#file(id)).catch(() => undefined)
  }

  async put(id: string, ciphertext: Uint8Array): Promise<boolean> {
    if (this.#sizes.has(id)) return true
    if (this.#bytes + ciphertext.length > this.#budget) return false
    const file = this.#file(id)
    await writeFile(`${file}.tmp`, ciphertext)
    await rename(`${file}.tmp`, file)
    this.#sizes.set(id, ciphertext.length)
    this.#bytes += ciphertext.length
    return true
  }

  async delete(ids: Iterable<string>): Promise<void> {
    for (const id of ids) {
      const size = this.#sizes.get(id)
      if (size === undefined) continue
      this.#sizes.delete(id)
      this.#bytes -= size
      await rm(this.#file(id), { force: true })
    }
  }

  #file(id: string): string {
    // Ids come from manifests: never let one name a path outside the cache.
    if (!SHA256_HEX.test(id)) throw new Error(`not a chunk id: ${id}`)
    return join(this.#dir, id)
  }
}
