/**
 * Which device a bearer credential belongs to, remembered for a few seconds so that the
 * three requests of one upload (init, chunk PUTs, complete) do not each cost a database
 * round trip. Unlinking must still stop a credential at once, so a revocation drops the
 * device here and is published on the bus: every instance drops it within the bus's
 * latency, and the TTL bounds the window should that message be lost (the bus delivers
 * at most once).
 */

export interface CachedDevice {
  deviceId: string
  accountId: string
  name: string
  /** When the store last recorded the device as seen (ms), for the presence writes. */
  lastSeenMs: number
}

interface Entry {
  device: CachedDevice
  expiresAt: number
}

/** The bus channel on which instances announce unlinked devices. */
export const REVOKED_CHANNEL = 'devices:revoked'

export class CredentialCache {
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #byHash = new Map<string, Entry>()
  readonly #hashesOf = new Map<string, string>()

  constructor({ ttlMs = 5_000, maxEntries = 50_000 } = {}) {
    this.#ttlMs = ttlMs
    this.#maxEntries = maxEntries
  }

  get(credentialHash: string, nowMs: number): CachedDevice | undefined {
    const entry = this.#byHash.get(credentialHash)
    if (!entry) return undefined
    if (entry.expiresAt > nowMs) return entry.device
    this.#drop(credentialHash, entry)
    return undefined
  }

  set(credentialHash: string, device: CachedDevice, nowMs: number): void {
    if (this.#ttlMs <= 0) return
    if (this.#byHash.size >= this.#maxEntries) {
      // Oldest first (Map order): a full cache only costs lookups, never correctness.
      const [oldest, entry] = this.#byHash.entries().next().value!
      this.#drop(oldest, entry)
    }
    this.#byHash.set(credentialHash, { device, expiresAt: nowMs + this.#ttlMs })
    this.#hashesOf.set(device.deviceId, credentialHash)
  }

  /** Forgets a device (unlinked here or on another instance). */
  forget(deviceId: string): void {
    const hash = this.#hashesOf.get(deviceId)
    if (hash === undefined) return
    this.#hashesOf.delete(deviceId)
    this.#byHash.delete(hash)
  }

  get size(): number {
    return this.#byHash.size
  }

  #drop(hash: string, entry: Entry): void {
    this.#byHash.delete(hash)
    if (this.#hashesOf.get(entry.device.deviceId) === hash) {
      this.#hashesOf.delete(entry.device.deviceId)
    }
  }
}
