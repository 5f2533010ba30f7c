/**
 * Pause and resume for one device. While paused, the engine starts no upload, applies no
 * remote change and prefetches nothing; local changes are still noticed and queued. Work
 * already under way when the pause comes finishes first (a file being uploaded, a change
 * being applied).
 */
export class PauseGate {
  #paused: boolean
  #opened: PromiseWithResolvers<void> | undefined
  readonly #listeners = new Set<(paused: boolean) => void>()

  constructor(paused = false) {
    this.#paused = paused
  }

  get paused(): boolean {
    return this.#paused
  }

  pause(): void {
    this.#set(true)
  }

  resume(): void {
    this.#set(false)
    this.#opened?.resolve()
    this.#opened = undefined
  }

  /** Told of every change (the web page, the status file). */
  onChange(listener: (paused: boolean) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Resolves at once when not paused, else on resume; rejects when the signal aborts. */
  async wait(signal?: AbortSignal): Promise<void> {
    while (this.#paused) {
      signal?.throwIfAborted()
      this.#opened ??= Promise.withResolvers<void>()
      const opened = this.#opened.promise
      if (!signal) await opened
      else {
        let onAbort = () => {}
        const aborted = new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason)
          signal.addEventListener('abort', onAbort, { once: true })
        })
        await Promise.race([opened, aborted]).finally(() =>
          signal.removeEventListener('abort', onAbort),
        )
      }
    }
  }

  #set(paused: boolean): void {
    if (paused === this.#paused) return
    this.#paused = paused
    for (const listener of this.#listeners) listener(paused)
  }
}
