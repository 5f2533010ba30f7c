/**
 * Keeps a file's cloud upload and the LAN peers pulling it (streaming sync) within a few
 * chunks of each other, so each chunk is read and encrypted once for both (the uploader's
 * RecentCiphertexts holds it in between). In a household the LAN is the faster link, so
 * the cloud upload loses nothing by it; and a peer's file appears only when the upload
 * commits, so a peer loses nothing either. Every wait is bounded: a peer that goes quiet
 * releases the upload at once, and a stalled upload holds a peer's request only briefly.
 */

/** How far either side may run ahead of the other, in chunks. */
const WINDOW_CHUNKS = 3
/** A peer silent this long no longer holds the cloud upload back. */
const PEER_STALL_MS = 300
/** A peer that asked this recently may ask again: what the upload encrypts is worth keeping. */
const PEER_PULLING_MS = 5_000
/** The longest a peer's request waits for the cloud upload to come near its chunk. */
const PEER_WAIT_MS = 2_000
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

  /** Before serving chunk `index` to a peer: waits briefly while the upload is far behind. */
  async beforeServe(path: string, index: number): Promise<void> {
    const file = this.#files.get(path)
    if (!file) return
    file.pulled = Math.max(file.pulled, index)
    file.pulledAt = this.#clock.now()
    const until = this.#clock.now() + PEER_WAIT_MS
    while (
      file.uploaded >= 0 &&
      index > file.uploaded + WINDOW_CHUNKS &&
      this.#clock.now() < until &&
      this.#files.get(path) === file
    ) {
      await this.#clock.sleep(POLL_MS)
    }
  }
}
