import type { Stream } from '@libp2p/interface'
import type { Frame, FrameDecoder } from '../../protocol/p2p/chunk-protocol.ts'
import { type Pace, slicesOf } from '../ports/pace.ts'

/**
 * Writes parts in order, waiting for `drain` whenever the stream's send buffer is full, so
 * a fast sender never queues more than one chunk ahead of the muxer. Parts are passed to
 * the stream as they are (a chunk's ciphertext is never copied here).
 */
export async function sendAll(
  stream: Stream,
  parts: readonly Uint8Array[],
  signal?: AbortSignal,
  pace?: Pace,
): Promise<void> {
  for (const part of parts) {
    // Under a rate limit, in small slices, each sent once its bytes may go.
    for (const piece of pace ? slicesOf(part) : [part]) {
      await pace?.(piece.length, signal)
      if (stream.writableNeedsDrain) await stream.onDrain({ signal })
      stream.send(piece)
    }
  }
}

/** Reads checked frames from a stream through a FrameDecoder, one at a time. */
export class FrameReader {
  readonly #source: AsyncIterator<Uint8Array | { [Symbol.iterator](): Iterator<Uint8Array> }>
  readonly #decoder: FrameDecoder
  readonly #frames: Frame[] = []
  #ended = false
  /** Called with the size of every piece read, before decoding: progress for timeouts and rates. */
  onBytes: ((n: number) => void) | undefined
  /** A rate limit on reading: awaited after each piece, so the sender is held back. */
  pace: Pace | undefined

  constructor(stream: Stream, decoder: FrameDecoder) {
    this.#source = stream[Symbol.asyncIterator]()
    this.#decoder = decoder
  }

  get decoder(): FrameDecoder {
    return this.#decoder
  }

  /** The next frame, or undefined at a clean end of stream (the decoder checks it was clean). */
  async next(): Promise<Frame | undefined> {
    while (this.#frames.length === 0) {
      if (this.#ended) return undefined
      const piece = await this.#source.next()
      if (piece.done) {
        this.#ended = true
        this.#decoder.end()
        return undefined
      }
      const buffers = piece.value instanceof Uint8Array ? [piece.value] : piece.value
      for (const buffer of buffers) {
        this.onBytes?.(buffer.length)
        this.#frames.push(...this.#decoder.push(buffer))
        await this.pace?.(buffer.length)
      }
    }
    return this.#frames.shift()
  }

  /** Stops reading: releases the stream's listeners. */
  async release(): Promise<void> {
    this.#ended = true
    await this.#source.return?.()
  }
}
