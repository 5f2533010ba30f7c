/**
 * Keeps a file's cloud upload near the LAN peers pulling it (streaming sync), so chunks a
 * peer had encrypted are still in the uploader's RecentCiphertexts when the cloud PUT
 * wants them. Only the cloud upload ever waits, and only briefly, for an active peer that
 * is behind: the LAN never waits for the uplink's pace (docs/LAN-FIRST.md), and a peer far
 * ahead of a slow uplink costs a second encryption of those chunks, not memory (the cache
 * has a byte budget).
 */

/** How far either side may run ahead of the other, in chunks. */
const WINDOW_CHUNKS = 3
/** A peer silent this long no longer holds the cloud upload back. */
const PEER_STALL_MS = 300
/** A peer that asked this recently may ask again: what the upload encrypts is worth keeping. */
const PEER_PULLING_MS = 5_000
/** Progress comes from two independent loops and the clock: checked this often. */
const POLL_MS = 5

export interface PaceClock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

interface FilePace {
  /** The furthest chunk the cloud PUTs have started on. */
  uploaded: number
  /** The furthest chunk a peer asked for, and when a peer last asked. */
  pulled: number
  pulledAt: number
}

export class UploadPace {
  readonly #clock: PaceClock
  readonly #files = new Map<string, FilePace>()

  constructor(clock: PaceClock) {
    this.#clock = clock
  }

  /** The file's upload begins (before peers hear of it) or ends. */
  begin(path: string): void {
    this.#files.set(path, { uploaded: -1, pulled: -1, pulledAt: Number.NEGATIVE_INFINITY })
  }

  end(path: string): void {
    this.#files.delete(path)
  }

  /** Every chunk left is on its way to the cloud: peers need not wait for any. */
  uploadSent(path: string): void {
    const file = this.#files.get(path)
    if (file) file.uploaded = Number.POSITIVE_INFINITY
  }

  /** Whether a peer has been pulling this file lately (so it will want what the upload makes). */
  pulling(path: string): boolean {
    const file = this.#files.get(path)
    return file !== undefined && this.#clock.now() - file.pulledAt <= PEER_PULLING_MS
  }

  /** Before the cloud PUT of chunk `index`: waits while a pulling peer is far behind. */
  async beforeUpload(path: string, index: number, signal: AbortSignal): Promise<void> {
    const file = this.#files.get(path)
    if (!file) return
    while (
      index > file.pulled + WINDOW_CHUNKS &&
      this.#clock.now() - file.pulledAt <= PEER_STALL_MS
    ) {
      await this.#clock.sleep(POLL_MS, signal)
    }
    file.uploaded = Math.max(file.uploaded, index)
  }

  /** Before serving chunk `index` to a peer: noted, never waited for. */
  beforeServe(path: string, index: number): void {
    const file = this.#files.get(path)
    if (!file) return
    file.pulled = Math.max(file.pulled, index)
    file.pulledAt = this.#clock.now()
  }
}
