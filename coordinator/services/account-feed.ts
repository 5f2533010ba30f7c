/**
 * Per-instance fan-in from the bus: one bus subscription per account with listeners on
 * this instance (long polls, WebSockets), however many listeners there are. Messages are
 * the WebSocket's ServerMessages, published once per change on the account's channel by
 * whichever instance committed it.
 */
import type { ChangeMessage, ServerMessage } from '../../protocol/schemas/ws.ts'
import type { Bus, Unsubscribe } from '../bus/index.ts'

export type FeedListener = (message: ServerMessage, raw: string) => void

/** Narrows by `type` (the protocol's message helper types it as plain string). */
export function isChangeMessage(m: ServerMessage): m is ChangeMessage {
  return m.type === 'change'
}

/** The bus channel of an account's pushes. */
export const accountChannel = (accountId: string): string => `account:${accountId}`

interface Watched {
  listeners: Set<FeedListener>
  /** The bus subscription, live once resolved. */
  subscription: Promise<Unsubscribe>
}

export class AccountFeed {
  readonly #bus: Bus
  readonly #accounts = new Map<string, Watched>()
  readonly #closers = new Set<() => void>()

  constructor(bus: Bus) {
    this.#bus = bus
  }

  /** Resolves once messages published from now on reach `listener`; returns its remover. */
  async watch(accountId: string, listener: FeedListener): Promise<() => Promise<void>> {
    let watched = this.#accounts.get(accountId)
    if (!watched) {
      const listeners = new Set<FeedListener>()
      const subscription = this.#bus.subscribe(accountChannel(accountId), (raw) => {
        const message = JSON.parse(raw) as ServerMessage
        for (const l of listeners) l(message, raw)
      })
      watched = { listeners, subscription }
      this.#accounts.set(accountId, watched)
    }
    watched.listeners.add(listener)
    const current = watched
    await current.subscription
    return async () => {
      if (!current.listeners.delete(listener) || current.listeners.size > 0) return
      if (this.#accounts.get(accountId) === current) this.#accounts.delete(accountId)
      await (await current.subscription)()
    }
  }

  /** Publishes a message to every instance's listeners of the account. */
  async publish(accountId: string, message: ServerMessage): Promise<void> {
    await this.#bus.publish(accountChannel(accountId), JSON.stringify(message))
  }

  /**
   * Resolves when `accept` approves a message of the account, or after `ms`, or when the
   * feed closes or `signal` aborts: whichever comes first. Returns whether a message came.
   */
  async waitFor(
    accountId: string,
    accept: (message: ServerMessage) => boolean,
    ms: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const { promise, resolve } = Promise.withResolvers<boolean>()
    const stop = await this.watch(accountId, (message) => {
      if (accept(message)) resolve(true)
    })
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
