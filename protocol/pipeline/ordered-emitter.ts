import type { EncodedChunk, EncodeOptions } from './encode.ts'
import type { ChunkResult } from './jobs.ts'

/**
 * Hands results to the consumer in index order however the workers finish, and bounds
 * how many chunks are dispatched but not yet consumed.
 */
export class OrderedEmitter {
  readonly emitted: EncodedChunk[] = []
  readonly #ready = new Map<number, EncodedChunk>()
  readonly #tracked = new Set<Promise<unknown>>()
  #chain: Promise<void> = Promise.resolve()
  #outstanding = 0
  #wake: (() => void) | undefined
  #failure: unknown

  readonly onChunk: EncodeOptions['onChunk']
  readonly limit: number

  constructor(onChunk: EncodeOptions['onChunk'], limit: number) {
    this.onChunk = onChunk
    this.limit = limit
  }

  async room(): Promise<void> {
    while (this.#outstanding >= this.limit && this.#failure === undefined) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
    this.throwIfFailed()
  }

  track(result: Promise<ChunkResult>, complete: (r: ChunkResult) => EncodedChunk): void {
    this.#outstanding++
    // Never rejects: a failure is kept for room()/throwIfFailed(), not left unhandled.
    const done = result.then(
      (r) => {
        try {
          const chunk = complete(r)
          this.#ready.set(chunk.index, chunk)
        } catch (err) {
          this.#fail(err)
          return
        }
        this.#chain = this.#chain.then(() => this.#drain())
        return this.#chain
      },
      (err) => this.#fail(err),
    )
    this.#tracked.add(done)
    void done.finally(() => this.#tracked.delete(done))
  }

  async #drain(): Promise<void> {
    for (;;) {
      const chunk = this.#ready.get(this.emitted.length)
      if (!chunk || this.#failure !== undefined) return
      this.#ready.delete(chunk.index)
      try {
        await this.onChunk?.(chunk)
      } catch (err) {
        this.#fail(err)
        return
      }
      // Keep the chunk's place in the manifest, not its bytes: the consumer owns those now.
      const { ciphertext: _, ...ref } = chunk
      this.emitted.push(ref)
      this.#outstanding--
      this.#wake?.()
    }
  }

  #fail(err: unknown): void {
    this.#failure ??= err
    this.#wake?.()
  }

  throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure
  }

  async settle(): Promise<void> {
    while (this.#tracked.size > 0) await Promise.allSettled([...this.#tracked])
    await this.#chain
  }
}
