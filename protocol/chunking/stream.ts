import type { Chunker } from './chunker.ts'

/**
 * Splits a byte stream into content-defined chunks. Holds at most one chunk in progress
 * (never more than maxSize bytes) plus the read buffer in hand. A chunk that lies inside
 * one read buffer is yielded as a view of it (no copy); one that spans reads is joined.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunker: Chunker,
): AsyncGenerator<Uint8Array> {
  chunker.reset()
  let carried: Uint8Array[] = []
  let carriedBytes = 0
  for await (const bytes of source) {
    let start = 0
    for (const cut of chunker.push(bytes)) {
      const piece = bytes.subarray(start, cut)
      if (carriedBytes === 0) {
        yield piece
      } else {
        yield join(carried, carriedBytes, piece)
        carried = []
        carriedBytes = 0
      }
      start = cut
    }
    if (start < bytes.length) {
      carried.push(bytes.subarray(start))
      carriedBytes += bytes.length - start
    }
  }
  if (carriedBytes > 0) yield join(carried, carriedBytes)
  chunker.reset()
}

function join(pieces: Uint8Array[], size: number, last?: Uint8Array): Uint8Array {
  const out = new Uint8Array(size + (last?.length ?? 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  if (last) out.set(last, at)
  return out
}
