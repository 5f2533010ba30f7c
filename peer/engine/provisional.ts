/**
 * Files this device placed ahead of their commit (docs/LAN-FIRST.md): recorded in the
 * index, served to peers like any chunk this device holds, and read back to finish the
 * upload when the uploader is gone (convergent encryption makes the same ciphertexts).
 */
import { reencryptChunk } from '../../protocol/crypto/chunk-cipher.ts'
import { unsealPlainHash } from '../../protocol/crypto/keys.ts'
import { releaseBytes } from '../../protocol/memory/release-bytes.ts'
import { type SyncFileSystem, sameStat } from '../ports/file-system.ts'
import type { ProvisionalFile, SyncIndex } from '../ports/sync-index.ts'
import type { ChunkProvider } from '../swarm/chunk-service.ts'

export interface ProvisionalFilesDeps {
  fs: SyncFileSystem
  index: SyncIndex
  secret: Uint8Array
}

export class ProvisionalFiles implements ChunkProvider {
  readonly #deps: ProvisionalFilesDeps
  /**
   * By path, read from the index once: local sync asks about every path it looks at, and
   * a placed manifest may list thousands of chunks. This engine is the only writer.
   */
  #byPath: Map<string, ProvisionalFile> | undefined

  constructor(deps: ProvisionalFilesDeps) {
    this.#deps = deps
  }

  get(path: string): ProvisionalFile | undefined {
    return this.#files().get(path)
  }

  list(): ProvisionalFile[] {
    return [...this.#files().values()]
  }

  /** Records a placement; a newer one at the same path replaces the older. */
  put(file: ProvisionalFile): void {
    const files = new Map(this.#files()).set(file.path, file)
    this.#deps.index.setProvisional([...files.values()])
    this.#byPath = files
  }

  /** Forgets the path's placement (confirmed, overwritten or abandoned). */
  drop(path: string): void {
    const files = new Map(this.#files())
    if (!files.delete(path)) return
    this.#deps.index.setProvisional([...files.values()])
    this.#byPath = files
  }

  #files(): Map<string, ProvisionalFile> {
    this.#byPath ??= new Map(this.#deps.index.getProvisional().map((p) => [p.path, p]))
    return this.#byPath
  }

  /** A chunk of a provisional file, for a peer that asked. */
  async read(id: string): Promise<Uint8Array | undefined> {
    for (const file of this.list()) {
      const index = file.manifest.chunks.findIndex((c) => c.id === id)
      if (index < 0) continue
      const ciphertext = await this.ciphertextAt(file, index).catch(() => undefined)
      if (ciphertext) return ciphertext
    }
    return undefined
  }

  /**
   * Chunk `index` of a provisional file, re-read and encrypted again; undefined when the
   * file changed since it was placed (its plaintext no longer matches the manifest).
   */
  async ciphertextAt(file: ProvisionalFile, index: number): Promise<Uint8Array | undefined> {
    const { fs, secret } = this.#deps
    const chunk = file.manifest.chunks[index]
    if (!chunk) return undefined
    const handle = await fs.openRead(file.path)
    try {
      if (!sameStat(handle.stat, file.stat)) return undefined
      const plaintext = await handle.readRange(chunk.offset, chunk.size)
      const plainHash = unsealPlainHash(secret, chunk.id, chunk.seal).toString('hex')
      const ciphertext = reencryptChunk(secret, plaintext, plainHash)
      releaseBytes(plaintext)
      return ciphertext
    } finally {
      await handle.close()
    }
  }
}
