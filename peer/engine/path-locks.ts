/**
 * One operation at a time per path: the uploader must not read a file the applier is
 * replacing, nor the applier replace one mid-upload. Several paths are locked in sorted
 * order, so two multi-path operations cannot deadlock.
 */
export class PathLocks {
  readonly #tails = new Map<string, Promise<void>>()

  async with<T>(paths: readonly string[], fn: () => Promise<T>): Promise<T> {
    const keys = [...new Set(paths)].sort()
    const release: (() => void)[] = []
    for (const key of keys) {
      const previous = this.#tails.get(key) ?? Promise.resolve()
      const { promise, resolve } = Promise.withResolvers<void>()
      const tail = previous.then(() => promise)
      this.#tails.set(key, tail)
      release.push(() => {
        resolve()
        if (this.#tails.get(key) === tail) this.#tails.delete(key)
      })
      await previous
    }
    try {
      return await fn()
    } finally {
      for (const r of release) r()
    }
  }
}
