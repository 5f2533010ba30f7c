import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'

/**
 * Where the sync logic gets chunk bytes: the device's own files, the swarm, the cloud.
 * One fetcher composes sources by policy (local, then peers, then cloud) and moves on to
 * the next source per chunk whenever one fails.
 *
 * The contract every implementation keeps: bytes handed out have been verified against
 * their id (`verifyChunkId`), so wrong bytes surface as a CHUNK_CORRUPT error, never as
 * data; and they are the caller's, held by no one else (a source that caches hands out a
 * copy), so the caller may release them (releaseBytes) when done. Failures are
 * CloudsyncError with a code the caller can branch on: NOT_FOUND (this source does not
 * have it), FORBIDDEN (refused), BUSY (overloaded, timed out or unreachable: try elsewhere
 * or later), CHUNK_CORRUPT (bytes did not match the id).
 */
export interface ChunkSource {
  /** For counters and logs: `swarm`, `cloud`, `local`. */
  readonly name: string
  /** One chunk's verified ciphertext. */
  get(id: string, options?: ChunkFetchOptions): Promise<Uint8Array>
  /**
   * Many chunks, one result per id in completion order (not request order): a source may
   * fetch them in parallel and from several places. Never throws for one chunk's failure;
   * that chunk's result carries the error instead, so the caller can fetch it elsewhere.
   */
  getMany(ids: readonly string[], options?: ChunkFetchOptions): AsyncIterable<ChunkResult>
}

export interface ChunkFetchOptions {
  signal?: AbortSignal
}

export type ChunkResult =
  | { id: string; bytes: Uint8Array; error?: undefined }
  | { id: string; bytes?: undefined; error: CloudsyncError }

/** Any thrown value as a CloudsyncError, so results always carry a code. */
export function asChunkError(id: string, err: unknown): CloudsyncError {
  if (isCloudsyncError(err)) return err
  const message = err instanceof Error ? err.message : String(err)
  return new CloudsyncError('BUSY', `Chunk ${id} could not be fetched: ${message}`, { id })
}

/**
 * `getMany` for a source that fetches one chunk at a time: up to `concurrency` `get`s in
 * flight, results yielded as they complete.
 */
export async function* getEach(
  get: (id: string, options?: ChunkFetchOptions) => Promise<Uint8Array>,
  ids: readonly string[],
  options: ChunkFetchOptions & { concurrency?: number } = {},
): AsyncGenerator<ChunkResult> {
  const concurrency = Math.max(1, options.concurrency ?? 4)
  const running = new Map<string, Promise<ChunkResult>>()
  let next = 0
  // Duplicate ids would share one map key; each id is fetched once per call.
  const queue = [...new Set(ids)]
  while (next < queue.length || running.size > 0) {
    while (running.size < concurrency && next < queue.length) {
      const id = queue[next++]!
      const fetching = get(id, { signal: options.signal }).then(
        (bytes): ChunkResult => ({ id, bytes }),
        (err: unknown): ChunkResult => ({ id, error: asChunkError(id, err) }),
      )
      running.set(id, fetching)
    }
    const done = await Promise.race(running.values())
    running.delete(done.id)
    yield done
  }
}
