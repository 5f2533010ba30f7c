/**
 * Fan-out between coordinator instances: a change committed by one instance is published
 * on a channel (e.g. per account), and every instance with devices of that account
 * subscribed pushes it to them. Delivery is at most once; devices catch up through
 * `/sync/changes` cursors after any gap, so a lost message costs latency, not data.
 */

/** Called once per message, in publish order for one publisher. Errors are reported, not
 * propagated: one faulty subscriber must not stop delivery to the others. */
export type BusHandler = (message: string, channel: string) => void

export type Unsubscribe = () => Promise<void>

export type LiveListener = (live: boolean) => void

export interface Bus {
  readonly kind: 'memory' | 'redis'
  publish(channel: string, message: string): Promise<void>
  /**
   * Resolves once the subscription is live: anything published after that is delivered.
   * The returned function removes this handler only; calling it twice is harmless.
   */
  subscribe(channel: string, handler: BusHandler): Promise<Unsubscribe>
  /** Resolves when the bus can deliver (readiness probe); throws otherwise. */
  check(): Promise<void>
  /**
   * False while the subscription is lost (messages published meanwhile never arrive),
   * true once every channel is subscribed again. Whoever serves devices from the bus
   * re-reads the log on each change of state (services/account-feed.ts).
   */
  readonly live: boolean
  /** Calls `listener` on every change of `live`; returns its remover. */
  onLiveChange(listener: LiveListener): () => void
  /** Stops delivery and releases connections; later calls to publish/subscribe throw. */
  close(): Promise<void>
}

/** Where handler errors go; the coordinator passes its logger. */
export type BusErrorReporter = (err: unknown, channel: string) => void

/** Default reporter: stderr. (Not console.error: assemblyscript's global typings, pulled in
 * by the wasm build script, shadow the console type project-wide.) */
export const reportToStderr: BusErrorReporter = (err, channel) => {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err)
  process.stderr.write(`bus handler for ${channel} failed: ${detail}\n`)
}
