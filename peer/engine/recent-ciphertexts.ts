/**
 * The ciphertexts this device made last, by chunk id, within a byte budget: an upload's
 * cloud PUT and a LAN peer prefetching the same upload ask for the same chunks at about
 * the same time, and share one read and one encryption. Convergent encryption makes the
 * bytes for an id the same whoever asks, so an entry is never stale.
 *
 * Over budget, what a second caller already took goes first, oldest first: each chunk is
 * wanted once by the cloud PUT and once per pulling peer, so a taken entry has most likely
 * served its purpose, while an untaken one is still awaited. (Least-recently-used did the
 * opposite: a hit made the spent entry the newest, so the awaited ones went first.)
 */
export class RecentCiphertexts {
  readonly #budget: number
  readonly #entries = new Map<
    string,
    { bytes: number; ciphertext: Promise<Uint8Array>; taken: boolean }
  >()
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
      entry.taken = true
      return entry.ciphertext
    }
    if (!keep || bytes > this.#budget) return make()
    const ciphertext = make()
    this.#entries.set(id, { bytes, ciphertext, taken: false })
    this.#bytes += bytes
    // A failed read or encryption is not remembered: the next caller tries afresh.
    ciphertext.catch(() => this.#forget(id, ciphertext))
    for (const taken of [true, false]) {
      for (const [oldest, entry] of this.#entries) {
        if (this.#bytes <= this.#budget) return ciphertext
        if (entry.taken === taken) this.#forget(oldest)
      }
    }
    return ciphertext
  }

  /**
   * Takes a ciphertext made elsewhere (the encoder's), untaken, when it fits the budget
   * without pushing anything out; false when it does not (the caller keeps it).
   */
  offer(id: string, ciphertext: Uint8Array): boolean {
    if (this.#entries.has(id) || this.#bytes + ciphertext.length > this.#budget) return false
    this.#entries.set(id, {
      bytes: ciphertext.length,
      ciphertext: Promise.resolve(ciphertext),
      taken: false,
    })
    this.#bytes += ciphertext.length
    return true
  }

  /** Whether `id` is here or being made: its ciphertext would be shared with whoever asked. */
  has(id: string): boolean {
    return this.#entries.has(id)
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
