/**
 * PushChannel over the coordinator's WebSocket (`GET /sync/ws`), with Node's global
 * WebSocket (undici), which takes the bearer credential as an upgrade header. Frames are
 * parsed with the protocol's parser and handed to the consumer one at a time, in order;
 * frames that arrive while it works wait in a queue.
 */
import { CloudsyncError } from '../../protocol/errors.ts'
import { encodeMessage, parseServerMessage, type ServerMessage } from '../../protocol/schemas/ws.ts'
import type { PushChannel } from '../ports/coordinator.ts'
import { CoordinatorEndpoints, isUnreachable } from './endpoints.ts'

export interface WsPushOptions {
  /** The coordinator's HTTP base URL (`http://host:port`); ws(s) is derived from it. */
  baseUrl?: string
  /** Several instances instead of one: each open goes to the current one, a failed
   * connect moves on to the next, and a move closes the open socket (endpoints.ts). */
  endpoints?: CoordinatorEndpoints
  credential: string
  /** Give up connecting after this long. */
  connectTimeoutMs?: number
  /**
   * Close (and so let the caller reconnect from its cursor) after this long without a
   * frame: the only way this client API notices a half-open connection, since it cannot
   * send pings. Reconnecting costs a hello and a `ready`. 0 turns it off.
   */
  idleTimeoutMs?: number
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000

/** Server message types this client knows; others (from a newer server) are skipped. */
const KNOWN = new Set(['ready', 'change', 'pending', 'pending-expired', 'devices', 'error'])

export class WebSocketPush implements PushChannel {
  readonly #endpoints: CoordinatorEndpoints
  readonly #credential: string
  readonly #connectTimeoutMs: number
  readonly #idleTimeoutMs: number

  constructor(options: WsPushOptions) {
    this.#endpoints = options.endpoints ?? new CoordinatorEndpoints([options.baseUrl ?? ''])
    this.#credential = options.credential
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  }

  /**
   * Resolves when the channel closes (server, network, idle timeout, or `signal`), after
   * the frames received before that have been delivered (all but on abort). Rejects with
   * UNAVAILABLE when it cannot connect (the WebSocket API does not say why, so a refused
   * credential looks the same: the HTTP calls report that one), with INTERNAL when the
   * server breaks the protocol, and with whatever `onMessage` throws.
   */
  open(
    cursor: number,
    onMessage: (message: ServerMessage) => Promise<void> | void,
    signal: AbortSignal,
    options: { replayAtMost?: number } = {},
  ): Promise<void> {
    signal.throwIfAborted()
    const base = this.#endpoints.current
    const ws = new WebSocket(wsUrl(base), {
      headers: { authorization: `Bearer ${this.#credential}` },
    })
    ws.binaryType = 'arraybuffer'
    // A protocol violation is queued too: frames before it are still delivered first.
    const queue: (ServerMessage | CloudsyncError)[] = []
    let opened = false
    let closed = false
    let delivering = false
    let failure: unknown
    let timer: ReturnType<typeof setTimeout> | undefined
    let settle!: { resolve: () => void; reject: (err: unknown) => void }
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject }
    })

    const finish = () => {
      if (delivering) return // the pump finishes once the handler in progress returns
      clearTimeout(timer)
      stopWatchingMoves()
      signal.removeEventListener('abort', onAbort)
      if (!opened && isUnreachable(failure)) this.#endpoints.failed(base)
      if (failure !== undefined) settle.reject(failure)
      else settle.resolve()
    }
    const stop = (err?: unknown) => {
      if (err !== undefined && failure === undefined) failure = err
      if (!closed) {
        closed = true
        if (ws.readyState === ws.CONNECTING || ws.readyState === ws.OPEN) ws.close(1000)
      }
      finish()
    }
    const arm = (ms: number, onTimeout: () => void) => {
      clearTimeout(timer)
      if (ms > 0) timer = setTimeout(onTimeout, ms)
    }
    // A consumer busy for a long time is not a silent connection.
    const idle = () => (delivering ? arm(this.#idleTimeoutMs, idle) : stop())
    const onAbort = () => {
      queue.length = 0
      stop()
    }

    const pump = async () => {
      if (delivering) return
      delivering = true
      try {
        while (queue.length > 0 && !signal.aborted && failure === undefined) {
          const next = queue.shift()!
          if (next instanceof CloudsyncError) failure = next
          else await onMessage(next)
        }
      } catch (err) {
        failure ??= err
      }
      delivering = false
      if (failure !== undefined) stop()
      else if (closed) finish()
    }

    signal.addEventListener('abort', onAbort, { once: true })
    // Moved to another instance (home again, say): this socket ends, the caller reopens.
    const stopWatchingMoves = this.#endpoints.onChange(() => stop())
    arm(this.#connectTimeoutMs, () =>
      stop(unavailable(`no connection within ${this.#connectTimeoutMs} ms`)),
    )
    ws.addEventListener('open', () => {
      opened = true
      arm(this.#idleTimeoutMs, idle)
      const { replayAtMost } = options
      ws.send(
        encodeMessage({
          type: 'hello',
          cursor,
          ...(replayAtMost !== undefined && { replayAtMost }),
        }),
      )
    })
    ws.addEventListener('message', (event) => {
      if (closed) return
      arm(this.#idleTimeoutMs, idle)
      const message = parseFrame(event.data)
      if (message === undefined) return
      queue.push(message)
      if (message instanceof CloudsyncError) {
        // Nothing after a broken frame can be trusted to be in order: stop reading.
        closed = true
        // (Clients may only send 1000 or 3000-4999; 4000 is ours: protocol violation.)
        ws.close(4000, 'invalid frame')
      }
      void pump()
    })
    // `closed` already set means we closed it (abort, timeout): not a connection failure.
    ws.addEventListener('error', () => {
      if (!opened && !closed) {
        stop(unavailable('connection failed (unreachable, or the upgrade was refused)'))
      }
    })
    ws.addEventListener('close', () => {
      if (!opened && !closed) failure ??= unavailable('connection closed before open')
      closed = true
      finish()
    })
    return done
  }
}

/** A known message, undefined for an unknown type, or the protocol violation. */
function parseFrame(data: unknown): ServerMessage | CloudsyncError | undefined {
  const raw = typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer)
  try {
    return parseServerMessage(raw)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const type = typeOf(raw)
    if (type !== undefined && !KNOWN.has(type)) return undefined
    return new CloudsyncError('INTERNAL', `Coordinator sent an invalid frame: ${message}`)
  }
}

/** The frame's `type` when it is a JSON object that has one. */
function typeOf(raw: string | Uint8Array): string | undefined {
  try {
    const value = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'))
    return typeof value?.type === 'string' ? value.type : undefined
  } catch {
    return undefined
  }
}

function wsUrl(base: string): string {
  const url = new URL(base)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/sync/ws`
  return url.href
}

function unavailable(reason: string): CloudsyncError {
  return new CloudsyncError('UNAVAILABLE', `Push channel: ${reason}`)
}
