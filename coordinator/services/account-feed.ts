/**
 * Per-instance fan-in from the bus: one bus subscription per account with listeners on
 * this instance (long polls, WebSockets), however many listeners there are. Messages are
 * the WebSocket's ServerMessages, published once per change on the account's channel by
 * whichever instance committed it.
 *
 * While the bus has lost its subscription, messages published elsewhere never arrive: the
 * feed then asks its listeners to re-read the log (`resync`) every `pollMs`, and once more
 * when the bus is subscribed again, so a device misses nothing because of the bus.
 */
import type { ChangeMessage, ServerMessage } from '../../protocol/schemas/ws.ts'
import type { Bus, Unsubscribe } from '../bus/index.ts'
import { Outbox, type OutboxConfig } from '../bus/outbox.ts'

export type FeedListener = (message: ServerMessage, raw: string) => void
/** Called when messages may have been lost: re-read what you serve from the log. */
export type ResyncListener = () => void

/** How often listeners re-read the log while the bus is down. */
export const FEED_POLL_MS = 1000

/** Not a ServerMessage: the outbox's word that messages of the account were dropped. */
const RESYNC = JSON.stringify({ type: 'resync' })

export interface AccountFeedOptions {
  pollMs?: number
  /** Where the outbox reports failures and drops (the app's logger). */
  onError?: OutboxConfig['onError']
  onDropped?: OutboxConfig['onDropped']
}

/** Narrows by `type` (the protocol's message helper types it as plain string). */
export function isChangeMessage(m: ServerMessage): m is ChangeMessage {
  return m.type === 'change'
}

/** The bus channel of an account's pushes. */
export const accountChannel = (accountId: string): string => `account:${accountId}`

interface Watched {
  listeners: Set<FeedListener>
  resyncs: Set<ResyncListener>
  /** The bus subscription, live once resolved. */
  subscription: Promise<Unsubscribe>
}

export class AccountFeed {
  readonly #bus: Bus
  readonly #accounts = new Map<string, Watched>()
  readonly #closers = new Set<() => void>()
  readonly #pollMs: number
  readonly #stopLive: () => void
  #poll: NodeJS.Timeout | undefined

  readonly #outbox: Outbox

  constructor(bus: Bus, options: AccountFeedOptions = {}) {
    this.#bus = bus
    this.#pollMs = options.pollMs ?? FEED_POLL_MS
    this.#outbox = new Outbox(bus, {
      resyncMessage: RESYNC,
      ...(options.onError && { onError: options.onError }),
      ...(options.onDropped && { onDropped: options.onDropped }),
    })
    this.#stopLive = bus.onLiveChange((live) => this.#onLiveChange(live))
    this.#onLiveChange(bus.live)
  }

  /**
   * Resolves once messages published from now on reach `listener`; returns its remover.
   * `resync` is called whenever messages may have been lost (see the file comment).
   */
  async watch(
    accountId: string,
    listener: FeedListener,
    resync?: ResyncListener,
  ): Promise<() => Promise<void>> {
    let watched = this.#accounts.get(accountId)
    if (!watched) {
      const listeners = new Set<FeedListener>()
      const resyncs = new Set<ResyncListener>()
      const subscription = this.#bus.subscribe(accountChannel(accountId), (raw) => {
        if (raw === RESYNC) {
          for (const r of resyncs) r()
          return
        }
        const message = JSON.parse(raw) as ServerMessage
        for (const l of listeners) l(message, raw)
      })
      const fresh: Watched = { listeners, resyncs, subscription }
      // A failed SUBSCRIBE must not stay cached for the account's later listeners.
      subscription.catch(() => {
        if (this.#accounts.get(accountId) === fresh) this.#accounts.delete(accountId)
      })
      watched = fresh
      this.#accounts.set(accountId, watched)
    }
    const current = watched
    current.listeners.add(listener)
    if (resync) current.resyncs.add(resync)
    const remove = () => {
      if (resync) current.resyncs.delete(resync)
      return current.listeners.delete(listener) && current.listeners.size === 0
    }
    try {
      await current.subscription
    } catch (err) {
      remove()
      throw err
    }
    return async () => {
      if (!remove()) return
      if (this.#accounts.get(accountId) === current) this.#accounts.delete(accountId)
      await (await current.subscription)()
    }
  }

  /** Whether messages published elsewhere reach this instance now. */
  get live(): boolean {
    return this.#bus.live
  }

  #onLiveChange(live: boolean): void {
    clearInterval(this.#poll)
    this.#poll = undefined
    if (live) {
      this.#resyncAll()
      return
    }
    this.#poll = setInterval(() => this.#resyncAll(), this.#pollMs)
    this.#poll.unref()
  }

  #resyncAll(): void {
    for (const watched of this.#accounts.values()) {
      for (const resync of watched.resyncs) resync()
    }
  }

  /** Stops polling on the bus's behalf and publishing (the app is closing). */
  async close(): Promise<void> {
    this.#stopLive()
    clearInterval(this.#poll)
    // What is queued gets a bounded chance to leave (each batch has a timeout).
    await Promise.race([this.#outbox.flush(), new Promise((r) => setTimeout(r, 2000).unref())])
    this.#outbox.close()
  }

  /**
   * Publishes a message to every instance's listeners of the account, after the caller's
   * answer: it is queued (bus/outbox.ts), never awaited, and cannot fail the caller.
   */
  publish(accountId: string, message: ServerMessage): void {
    this.#outbox.send(accountChannel(accountId), JSON.stringify(message))
  }

  /** Tells every instance's listeners of the account to re-read the log. */
  resync(accountId: string): void {
    this.#outbox.send(accountChannel(accountId), RESYNC)
  }

  /** Resolves once everything published so far has left (or was given up). */
  flush(): Promise<void> {
    return this.#outbox.flush()
  }

  /**
   * Resolves when `accept` approves a message of the account, or after `ms`, or when the
   * feed closes or `signal` aborts: whichever comes first. Returns whether a message came
   * (or may have been lost: the caller re-reads the log either way).
   */
  async waitFor(
    accountId: string,
    accept: (message: ServerMessage) => boolean,
    ms: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const { promise, resolve } = Promise.withResolvers<boolean>()
    const stop = await this.watch(
      accountId,
      (message) => {
        if (accept(message)) resolve(true)
      },
      () => resolve(true),
    )
    const timer = setTimeout(() => resolve(false), ms)
    const abort = () => resolve(false)
    signal?.addEventListener('abort', abort, { once: true })
    this.#closers.add(abort)
    try {
      return await promise
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', abort)
      this.#closers.delete(abort)
      await stop()
    }
  }

  /** Ends every pending wait (the app is closing: long polls answer now). */
  wakeAll(): void {
    for (const close of this.#closers) close()
  }
}
