/** Ignored paths `status --verbose` lists at most; the count covers them all. */
export const IGNORED_LIST_MAX = 100

/**
 * The folder's paths that the ignore rules keep out of sync, as the last scan and the
 * watcher found them: what `status --verbose` shows.
 */
export class IgnoredPaths {
  #paths = new Set<string>()

  /** A full scan's findings replace what was known. */
  replace(paths: Iterable<string>): void {
    this.#paths = new Set(paths)
  }

  note(path: string, present: boolean): void {
    if (present) this.#paths.add(path)
    else this.#paths.delete(path)
  }

  get count(): number {
    return this.#paths.size
  }

  /** At most `max` paths, sorted (the status file is written every second: no full sort of many). */
  list(max = IGNORED_LIST_MAX): string[] {
    const some: string[] = []
    for (const path of this.#paths) {
      if (some.length >= max) break
      some.push(path)
    }
    return some.sort()
  }
}
