/**
 * Hands results to the consumer in index order however the workers finish, and bounds
 * how many items are dispatched but not yet consumed. `retain` says what of each consumed
 * item to keep in `emitted` (the encoder keeps a chunk's place, not its bytes).
 */
export class OrderedEmitter<T extends { index: number }, K = T> {
  readonly emitted: K[] = []
  readonly #ready = new Map<number, T>()
  readonly #tracked = new Set<Promise<unknown>>()
  #chain: Promise<void> = Promise.resolve()
  #outstanding = 0
  #wake: (() => void) | undefined
  #failure: unknown

  readonly onItem: ((item: T) => void | Promise<void>) | undefined
  readonly limit: number
  readonly #retain: (item: T) => K

  constructor(
    onItem: ((item: T) => void | Promise<void>) | undefined,
    limit: number,
    retain: (item: T) => K,
  ) {
    this.onItem = onItem
    this.limit = limit
    this.#retain = retain
  }

  async room(): Promise<void> {
    while (this.#outstanding >= this.limit && this.#failure === undefined) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
    this.throwIfFailed()
  }

  track<R>(result: Promise<R>, complete: (r: R) => T): void {
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
        await this.onItem?.(chunk)
      } catch (err) {
        this.#fail(err)
        return
      }
      this.emitted.push(this.#retain(chunk))
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
