/**
 * A device's push channel over a real socket (Node's global WebSocket): every server
 * message parsed with the protocol's parser and kept, and waits on what has arrived.
 */

import type { Change } from '../../protocol/schemas/sync.ts'
import { parseServerMessage, type ServerMessage } from '../../protocol/schemas/ws.ts'

export interface WsClient {
  /** Every message received, in order. */
  readonly messages: ServerMessage[]
  /** The changes received, in order. */
  changes(): Change[]
  /** The last `devices` message's list, if any arrived. */
  lastDevices(): Extract<ServerMessage, { type: 'devices' }>['devices'] | undefined
  hello(cursor: number): void
  /** Resolves once `check` approves the messages so far; rejects after `ms`. */
  until(what: string, check: (messages: ServerMessage[]) => boolean, ms?: number): Promise<void>
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>
  close(): Promise<void>
}

/** Opens `ws(s)://…/sync/ws` as the device with `credential`; resolves once open. */
export async function connectWs(baseUrl: string, credential: string): Promise<WsClient> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/sync/ws`
  // Node's WebSocket (undici) takes headers as an extension of the standard options.
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${credential}` } } as never)
  const messages: ServerMessage[] = []
  const waiters = new Set<() => void>()
  const { promise: closed, resolve: onClosed } = Promise.withResolvers<void>()
  let isClosed = false
  ws.addEventListener('message', (e) => {
    messages.push(parseServerMessage(String(e.data)))
    for (const w of [...waiters]) w()
  })
  ws.addEventListener('close', () => {
    isClosed = true
    onClosed()
    for (const w of [...waiters]) w()
  })
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true })
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)), {
      once: true,
    })
  })

  return {
    messages,
    changes: () => messages.flatMap((m) => (m.type === 'change' ? [m.change] : [])),
    lastDevices: () => messages.findLast((m) => m.type === 'devices')?.devices,
    hello: (cursor) => ws.send(JSON.stringify({ type: 'hello', cursor })),
    until(what, check, ms = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const test = () => {
          if (check(messages)) done(resolve)
          else if (isClosed) done(() => reject(new Error(`socket closed before ${what}`)))
        }
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`))),
          ms,
        )
        const done = (settle: () => void) => {
          clearTimeout(timer)
          waiters.delete(test)
          settle()
        }
        waiters.add(test)
        test()
      })
    },
    closed,
    async close() {
      ws.close()
      await closed
    },
  }
}

/** Whether a device list shows the device online. */
export function isOnline(
  devices: { deviceId: string; online: boolean }[] | undefined,
  deviceId: string,
): boolean {
  return devices?.find((d) => d.deviceId === deviceId)?.online === true
}
