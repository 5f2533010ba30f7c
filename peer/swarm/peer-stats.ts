import type { CloudsyncError } from '../../protocol/errors.ts'

/** What one peer has done for this device: the counters `status` shows and tests assert. */
export interface PeerCounters {
  peerId: string
  bytesReceived: number
  chunksReceived: number
  /** Chunks this peer did not deliver, by error code (NOT_FOUND, BUSY, CHUNK_CORRUPT, …). */
  failures: Record<string, number>
  requests: number
  /** Smoothed receive rate in bytes per second; undefined until a request has finished. */
  bytesPerSecond: number | undefined
}

/**
 * Weight of the newest sample in the rate average: high enough to follow a peer whose
 * link changes within a few requests, low enough that one slow request (a chunk read from
 * a cold disk) does not starve a good peer.
 */
const RATE_WEIGHT = 0.3

/** Per-peer counters and a receive-rate estimate, kept for the life of a SwarmSource. */
export class PeerStats {
  readonly #peers = new Map<string, PeerCounters>()
  /** Peers whose last request broke (unreachable, dropped, timed out, lied), until when. */
  readonly #downUntil = new Map<string, number>()

  #of(peerId: string): PeerCounters {
    let counters = this.#peers.get(peerId)
    if (!counters) {
      counters = {
        peerId,
        bytesReceived: 0,
        chunksReceived: 0,
        failures: {},
        requests: 0,
        bytesPerSecond: undefined,
      }
      this.#peers.set(peerId, counters)
    }
    return counters
  }

  requested(peerId: string): void {
    this.#of(peerId).requests++
  }

  received(peerId: string, bytes: number): void {
    const counters = this.#of(peerId)
    counters.chunksReceived++
    counters.bytesReceived += bytes
  }

  failed(peerId: string, error: CloudsyncError): void {
    const { failures } = this.#of(peerId)
    failures[error.code] = (failures[error.code] ?? 0) + 1
  }

  /** One request's bytes over its duration; requests that moved nothing say nothing of speed. */
  sample(peerId: string, bytes: number, ms: number): void {
    if (bytes === 0) return
    const counters = this.#of(peerId)
    const rate = (bytes * 1000) / Math.max(ms, 1)
    counters.bytesPerSecond =
      counters.bytesPerSecond === undefined
        ? rate
        : counters.bytesPerSecond * (1 - RATE_WEIGHT) + rate * RATE_WEIGHT
  }

  /** Leaves a failed peer out of new requests for a while instead of paying its timeout again. */
  markDown(peerId: string, forMs: number): void {
    this.#downUntil.set(peerId, performance.now() + forMs)
  }

  isDown(peerId: string): boolean {
    const until = this.#downUntil.get(peerId)
    if (until === undefined) return false
    if (performance.now() < until) return true
    this.#downUntil.delete(peerId)
    return false
  }

  rateOf(peerId: string): number | undefined {
    return this.#peers.get(peerId)?.bytesPerSecond
  }

  /**
   * Peers fastest first. A peer not yet measured sorts ahead of all, so every peer gets a
   * first request and with it a measurement.
   */
  fastestFirst<T extends { peerId: string }>(peers: readonly T[]): T[] {
    const rate = (p: T) => this.rateOf(p.peerId) ?? Number.POSITIVE_INFINITY
    return [...peers].sort((a, b) => rate(b) - rate(a))
  }

  /** A snapshot of every peer's counters. */
  snapshot(): PeerCounters[] {
    return [...this.#peers.values()].map((c) => ({ ...c, failures: { ...c.failures } }))
  }
}
