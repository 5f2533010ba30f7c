import type { Clock } from '../ports/clock.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'
import type { SyncIndex } from '../ports/sync-index.ts'
import type { PauseGate } from './pause-gate.ts'
import type { RemoteSync } from './remote-sync.ts'

export interface HeadWatchDeps {
  api: CoordinatorApi
  index: SyncIndex
  clock: Clock
  remote: RemoteSync
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
  /** How often the coordinator's head is read while the push channel is up. */
  intervalMs?: number
  /** Paused, being behind is expected: the head is still read, nothing is caught up. */
  gate?: PauseGate
}

export const DEFAULT_HEAD_CHECK_MS = 5_000

/**
 * A device can be live and still behind: a push the bus dropped (it is at-most-once), or a
 * change it never got told about, leaves it waiting for the next change to show the gap.
 * This reads the coordinator's head now and then; behind at two reads in a row with the
 * cursor not moving and nothing being applied, the device says so and reads the log.
 */
export class HeadWatch {
  readonly #deps: HeadWatchDeps
  /** The cursor at the last read, if the device was behind then. */
  #behindAt: number | undefined
  /** The cursor last reported as stuck while applying, so that is said once per change. */
  #reportedBusyAt: number | undefined

  constructor(deps: HeadWatchDeps) {
    this.#deps = deps
  }

  /** Runs until the signal aborts; a failed read waits for the next round. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#deps
    while (!signal.aborted) {
      try {
        await clock.sleep(this.#deps.intervalMs ?? DEFAULT_HEAD_CHECK_MS, signal)
        await this.check(signal)
      } catch {
        // The coordinator unreachable: the push channel's loop reports and retries that.
      }
    }
  }

  async check(signal: AbortSignal): Promise<void> {
    const { api, index, remote, log } = this.#deps
    // While the push channel is down, the long poll reads the log anyway.
    if (!remote.connected) return
    const cursor = index.getCursor()
    const page = await api.changes(cursor, { limit: 1, wait: 0, signal })
    remote.noteHead(page.head ?? page.cursor)
    const behind = remote.behind
    if (this.#deps.gate?.paused) return
    if (behind === 0) {
      this.#behindAt = undefined
      return
    }
    const stalled = this.#behindAt === index.getCursor()
    this.#behindAt = index.getCursor()
    if (!stalled) return
    const fields = { cursor: index.getCursor(), behind }
    if (remote.busy) {
      // A big file on its way is normal; said once, so a stuck apply is visible in the log.
      if (this.#reportedBusyAt !== cursor)
        log('info', 'behind the coordinator while a change is applied', fields)
      this.#reportedBusyAt = cursor
      return
    }
    log('warn', 'behind the coordinator with nothing being applied; catching up', fields)
    await remote.catchUp(signal)
  }
}
