/**
 * Which devices the account still has linked, as the coordinator last said (its device
 * list, pushed on every change). A coordinator-signed certificate is not enough once its
 * device is unlinked: it stays valid until it expires, so peers also refuse any device
 * missing from the latest list (docs/SECURITY.md). Before the first list arrives, the
 * certificate alone decides.
 */
import type { CertificatePayload } from '../../protocol/certificates.ts'

export interface LinkedDevice {
  deviceId: string
  peerId: string
}

export class LinkedPeers {
  #linked: Map<string, string> | undefined
  /** Called for a device the list does not name yet (perhaps just linked): ask again. */
  readonly #onUnknown: (deviceId: string) => void

  constructor(onUnknown: (deviceId: string) => void = () => {}) {
    this.#onUnknown = onUnknown
  }

  /**
   * Takes the account's current device list; answers the peer ids that were linked
   * before and are not any more, whose open connections must be closed.
   */
  update(devices: readonly LinkedDevice[]): string[] {
    const before = this.#linked
    this.#linked = new Map(devices.map((d) => [d.deviceId, d.peerId]))
    if (!before) return []
    const now = new Set(this.#linked.values())
    return [...before.values()].filter((peerId) => !now.has(peerId))
  }

  /** Whether a peer id belongs to a device of the latest list (true before any list). */
  hasPeer(peerId: string): boolean {
    return !this.#linked || [...this.#linked.values()].includes(peerId)
  }

  /** Whether a verified certificate's device is still linked, with the same peer id. */
  admits(payload: CertificatePayload): boolean {
    if (!this.#linked) return true
    const peerId = this.#linked.get(payload.deviceId)
    if (peerId === undefined) this.#onUnknown(payload.deviceId)
    return peerId === payload.peerId
  }
}
