/**
 * Waits until `bytes` may move (a rate limit's tokens): awaited before bytes are sent, or
 * after they are read so that the reader falls behind and the sender is held back.
 */
export type Pace = (bytes: number, signal?: AbortSignal) => Promise<void>

/** Pieces written one at a time under a pace: small, so waits stay short and even. */
export const PACED_SLICE_BYTES = 64 * 1024

/** Views of `bytes` of at most `size` bytes each (no copy). */
export function* slicesOf(bytes: Uint8Array, size = PACED_SLICE_BYTES): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}
