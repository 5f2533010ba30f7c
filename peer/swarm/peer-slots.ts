/**
 * Requests in flight per peer, shared by every download of one SwarmSource, so many
 * concurrent `get`s still keep each peer at its limit (a responder resets streams beyond
 * its own per-connection limit). Downloads waiting for a slot subscribe to releases.
 */
export class PeerSlots {
  readonly #used = new Map<string, number>()
  readonly #listeners = new Set<() => void>()

  used(peerId: string): number {
    return this.#used.get(peerId) ?? 0
  }

  take(peerId: string): void {
    this.#used.set(peerId, this.used(peerId) + 1)
  }

  release(peerId: string): void {
    const left = this.used(peerId) - 1
    if (left > 0) this.#used.set(peerId, left)
    else this.#used.delete(peerId)
    for (const listener of this.#listeners) listener()
  }

  /** Calls `listener` after every release; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}
