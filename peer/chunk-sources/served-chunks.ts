/**
 * What this device serves to its peers, through the chunk service: its synced files
 * (local-source.ts), the files it is uploading right now (streaming sync), and what it
 * prefetched of another device's upload. The first provider that has a chunk answers.
 */
import type { ChunkProvider } from '../swarm/chunk-service.ts'

export function firstProvider(providers: readonly (ChunkProvider | undefined)[]): ChunkProvider {
  return {
    async read(id) {
      for (const provider of providers) {
        const bytes = await provider?.read(id)
        if (bytes) return bytes
      }
      return undefined
    },
  }
}
