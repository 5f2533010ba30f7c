import { encryptChunk } from '../../protocol/crypto/chunk-cipher.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { ChunkLocation, LocalIndex } from '../local-index/local-index.ts'
import type { SyncFileSystem } from '../ports/file-system.ts'
import { sameStat } from '../ports/file-system.ts'
import type { ChunkProvider } from '../swarm/chunk-service.ts'
import { type ChunkFetchOptions, type ChunkSource, getEach } from './chunk-source.ts'

export interface OwnChunksInit {
  index: LocalIndex
  fs: SyncFileSystem
  /** The dedup domain's secret: re-encryption must give the very bytes the id names. */
  secret: Uint8Array
}

/**
 * Chunks served from this device's own files: the index says where each chunk's plaintext
 * lives, and the ciphertext is made again on the fly (convergent encryption gives the same
 * bytes as the cloud's). Every step is checked, because files change under the index: the
 * file's stat must still be the indexed one, the plaintext must hash to the indexed hash,
 * and the ciphertext must hash to the requested id. A location failing any check is
 * skipped; a chunk no location holds is `undefined`.
 */
export function ownChunkProvider({ index, fs, secret }: OwnChunksInit): ChunkProvider {
  const readAt = async (id: string, at: ChunkLocation): Promise<Uint8Array | undefined> => {
    const synced = index.syncedStat(at.path)
    if (!synced) return undefined
    let plaintext: Uint8Array
    try {
      const handle = await fs.openRead(at.path)
      try {
        // The handle's stat is taken on the open file, so it describes the bytes we read.
        if (!sameStat(handle.stat, synced)) return undefined
        plaintext = await handle.readRange(at.offset, at.size)
      } finally {
        await handle.close()
      }
    } catch {
      return undefined // gone, shrunk or unreadable: not a place this chunk lives any more
    }
    const encrypted = encryptChunk(secret, plaintext)
    if (encrypted.plainHash.toString('hex') !== at.plainHash) return undefined
    return encrypted.id === id ? encrypted.ciphertext : undefined
  }

  return {
    async read(id) {
      for (const at of index.locate(id)) {
        const bytes = await readAt(id, at)
        if (bytes) return bytes
      }
      return undefined
    },
  }
}

/** The same chunks as a `ChunkSource` named `local`: the first source the fetcher asks. */
export function localChunkSource(init: OwnChunksInit & { concurrency?: number }): ChunkSource {
  const provider = ownChunkProvider(init)
  const get = async (id: string, options?: ChunkFetchOptions): Promise<Uint8Array> => {
    options?.signal?.throwIfAborted()
    const bytes = await provider.read(id)
    if (!bytes) throw new CloudsyncError('NOT_FOUND', `Chunk ${id} is not in this device's files`)
    return bytes
  }
  return {
    name: 'local',
    get,
    getMany: (ids, options) => getEach(get, ids, { ...options, concurrency: init.concurrency }),
  }
}
