/**
 * The coordinator instances a device may talk to: its home first (where it linked, or the
 * URL it was configured with), then the others it was given (link code, configuration, the
 * coordinator's own list of instances). Every instance serves every device (they share
 * Postgres and Redis), so when the current one stops answering the device moves to the
 * next; its cursor is its truth, so it misses nothing. It moves back home when told to
 * (`goHome`, e.g. once home answers its readiness probe again).
 */

export type EndpointListener = (current: string) => void

export class CoordinatorEndpoints {
  readonly #urls: string[] = []
  readonly #listeners = new Set<EndpointListener>()
  #current = 0

  /** `urls[0]` is home; duplicates and trailing slashes are dropped. */
  constructor(urls: readonly string[]) {
    this.add(urls)
    if (this.#urls.length === 0) throw new TypeError('A device needs a coordinator URL')
  }

  get current(): string {
    return this.#urls[this.#current]!
  }

  get home(): string {
    return this.#urls[0]!
  }

  get atHome(): boolean {
    return this.#current === 0
  }

  get all(): readonly string[] {
    return this.#urls
  }

  /** Learns more instances (kept after those known; home stays first). */
  add(urls: readonly string[]): void {
    for (const raw of urls) {
      const url = normalize(raw)
      if (!this.#urls.includes(url)) this.#urls.push(url)
    }
  }

  /**
   * `url` did not answer: if it is still the current one, moves to the next instance (in
   * order, wrapping around). Answers the URL to use now.
   */
  failed(url: string): string {
    if (normalize(url) === this.current && this.#urls.length > 1) {
      this.#move((this.#current + 1) % this.#urls.length)
    }
    return this.current
  }

  /** Back to the home instance. */
  goHome(): void {
    this.#move(0)
  }

  /** Called with the new current URL on every move; returns the remover. */
  onChange(listener: EndpointListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #move(index: number): void {
    if (index === this.#current) return
    this.#current = index
    for (const listener of this.#listeners) listener(this.current)
  }
}

function normalize(raw: string): string {
  const url = new URL(raw)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Coordinator URL must be http(s), got ${raw}`)
  }
  return url.href.replace(/\/+$/, '')
}

/** A network-level failure (no answer at all), as opposed to the server answering 5xx. */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; details?: { status?: unknown } } | undefined
  return e?.code === 'UNAVAILABLE' && e.details?.status === undefined
}
