import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { releaseBytes } from '../../protocol/memory/release-bytes.ts'
import type { FileAssembler } from '../../protocol/pipeline/assemble.ts'
import { trace } from '../trace.ts'
import type { ChunkSource } from './chunk-source.ts'

/**
 * Chunks being verified, decrypted and written at once: one decrypting while the other's
 * write completes. Direct writes (peer/adapters/direct-writes.ts) finish in a few ms, so
 * more would only hold more chunk buffers, for no more speed.
 */
const ACCEPTS_IN_FLIGHT = 2

/** Bytes and chunks each source delivered, for `status` and the tests' assertions. */
export type SourceCounters = Record<string, { chunks: number; bytes: number; failures: number }>

/**
 * Fills an assembler from sources tried in order (local, then peers, then the cloud). Each
 * source is asked for every chunk still missing; what it fails to deliver (a miss, a
 * timeout, bytes that don't match their id, a chunk the assembler rejects) falls through
 * to the next source, chunk by chunk.
 */
export class ChunkFetcher {
  readonly counters: SourceCounters = {}

  #counter(name: string): SourceCounters[string] {
    const existing = this.counters[name]
    if (existing) return existing
    const fresh = { chunks: 0, bytes: 0, failures: 0 }
    this.counters[name] = fresh
    return fresh
  }

  async fill(
    assembler: FileAssembler,
    sources: readonly ChunkSource[],
    signal?: AbortSignal,
  ): Promise<void> {
    const byId = indexesById(assembler.manifest, assembler.missing())
    const failures: string[] = []
    // The file itself could not be written (a full disk, an I/O error): no other source
    // helps, so the fill stops with that error rather than a vague "unavailable".
    let sinkFailure: { error: unknown } | undefined
    for (const source of sources) {
      if (byId.size === 0 || sinkFailure) break
      const counter = this.#counter(source.name)
      const inFlight = new Set<Promise<void>>()
      try {
        for await (const result of source.getMany([...byId.keys()], { signal })) {
          signal?.throwIfAborted()
          if (sinkFailure) break
          const indexes = byId.get(result.id)
          if (!indexes) continue
          if (result.error) {
            // "Don't have it" is how a source declines, not a failure worth reporting.
            if (result.error.code !== 'NOT_FOUND') counter.failures++
            failures.push(`${source.name}: ${result.error.message}`)
            continue
          }
          // Verified, decrypted and written off this loop, a few at a time, while the
          // source keeps delivering; a chunk that fails stays wanted for the next source.
          const bytes = result.bytes
          const writing = (async () => {
            try {
              // A chunk may recur in one file (repeated content): write every place it goes.
              // Sources hand out bytes already checked against their id (ChunkSource).
              for (const index of indexes)
                await assembler.accept(index, bytes, { idVerified: true })
              counter.chunks++
              counter.bytes += bytes.length
              trace('chunk-written', { source: source.name, index: indexes[0]! })
              byId.delete(result.id)
            } catch (err) {
              if (!isCloudsyncError(err)) sinkFailure ??= { error: err }
              counter.failures++
              failures.push(`${source.name}: ${(err as Error).message}`)
            } finally {
              // The source handed the bytes over (ChunkSource): nobody else holds them.
              releaseBytes(bytes)
            }
          })()
          inFlight.add(writing)
          void writing.finally(() => inFlight.delete(writing))
          if (inFlight.size >= ACCEPTS_IN_FLIGHT) await Promise.race(inFlight)
        }
      } finally {
        // Never return (or throw) while a chunk is still being written into the file.
        await Promise.allSettled(inFlight)
      }
    }
    if (sinkFailure) throw sinkFailure.error
    if (byId.size > 0) {
      throw new CloudsyncError(
        'UNAVAILABLE',
        `${byId.size} chunk(s) could not be fetched from any source`,
        {
          failures: failures.slice(-5),
        },
      )
    }
  }
}

function indexesById(manifest: Manifest, missing: number[]): Map<string, number[]> {
  const byId = new Map<string, number[]>()
  for (const index of missing) {
    const id = manifest.chunks[index]!.id
    const list = byId.get(id)
    if (list) list.push(index)
    else byId.set(id, [index])
  }
  return byId
}
