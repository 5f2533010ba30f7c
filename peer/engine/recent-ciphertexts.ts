/**
 * The ciphertexts this device made last, by chunk id, within a byte budget: an upload's
 * cloud PUT and a LAN peer prefetching the same upload ask for the same chunks at about
 * the same time, and share one read and one encryption. Convergent encryption makes the
 * bytes for an id the same whoever asks, so an entry is never stale.
 */
export class RecentCiphertexts {
  readonly #budget: number
  readonly #entries = new Map<string, { bytes: number; ciphertext: Promise<Uint8Array> }>()
  readonly #onHit: () => void
  #bytes = 0

  constructor(budgetBytes: number, onHit: () => void = () => {}) {
    this.#budget = budgetBytes
    this.#onHit = onHit
  }

  /**
   * The ciphertext of `id`, made by `make` unless it is here (or being made) already; kept
   * for the next caller only when `keep` says someone else is likely to ask.
   */
  get(
    id: string,
    bytes: number,
    make: () => Promise<Uint8Array>,
    keep = true,
  ): Promise<Uint8Array> {
    const entry = this.#entries.get(id)
    if (entry) {
      this.#onHit()
      // Most recently used last: the next eviction spares it.
      this.#entries.delete(id)
      this.#entries.set(id, entry)
      return entry.ciphertext
    }
    if (!keep || bytes > this.#budget) return make()
    const ciphertext = make()
    this.#entries.set(id, { bytes, ciphertext })
    this.#bytes += bytes
    // A failed read or encryption is not remembered: the next caller tries afresh.
    ciphertext.catch(() => this.#forget(id, ciphertext))
    for (const [oldest] of this.#entries) {
      if (this.#bytes <= this.#budget) break
      this.#forget(oldest)
    }
    return ciphertext
  }

  /** Drops everything (no upload left to share with): an idle daemon keeps none of it. */
  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  #forget(id: string, only?: Promise<Uint8Array>): void {
    const entry = this.#entries.get(id)
    if (!entry || (only && entry.ciphertext !== only)) return
    this.#entries.delete(id)
    this.#bytes -= entry.bytes
  }
}
