/**
 * Ciphertext of chunks fetched ahead of need (a `pending` upload seen on the LAN), kept
 * until the version that needs them is written. Entries are verified before they are put
 * and again when read, so a damaged cache costs a refetch, never wrong bytes.
 */
export interface ChunkCache {
  get(id: string): Promise<Uint8Array | undefined>
  /** Stores a verified chunk; false when the cache is full (the chunk is then not kept). */
  put(id: string, ciphertext: Uint8Array): Promise<boolean>
  delete(ids: Iterable<string>): Promise<void>
}
