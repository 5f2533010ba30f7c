/**
 * `GET /sync/ws`: the push channel. The upgrade is authenticated like any route (bearer
 * credential, onRequest hook of the sync group). The device sends `hello {cursor}`; the
 * coordinator sends every change after that cursor from the log, then `ready`, then each
 * change of the account as it is published on the bus by any instance. A push that skips
 * a number (the bus is at-most-once) makes the socket read the gap from the log, and so
 * does the bus losing its subscription (services/account-feed.ts), so a device sees every
 * change once, in order.
 *
 * The socket also makes its device online (services/presence.ts) until it closes; the
 * account's sockets get a `devices` message with the device list after `ready` and
 * whenever a device of the account connects, disconnects or changes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { WebSocket } from '@fastify/websocket'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import {
  encodeMessage,
  parseClientMessage,
  type ServerMessage,
} from '../../../protocol/schemas/ws.ts'
import { isChangeMessage } from '../../services/account-feed.ts'
import { toChange } from '../../services/changes.ts'
import { getAccount } from '../../store/accounts.ts'
import { changesAfter } from '../../store/changes.ts'
import { getDevice } from '../../store/devices.ts'

/** Changes read from the log per query while catching a socket up. */
const CATCH_UP_PAGE = 500

export const websocketRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/sync/ws', { websocket: true, schema: { hide: true } }, (socket, request) => {
    const { device } = request
    const { accountId } = device
    void app.presence.opened(device)
    /** Null until hello; then the seq of the last change sent. */
    let cursor: number | null = null
    // Every send goes through one chain, so catch-up and live pushes never interleave.
    let chain: Promise<void> = Promise.resolve()
    const enqueue = (step: () => Promise<void> | void) => {
      chain = chain.then(step).catch((err) => {
        request.log.warn({ err }, 'websocket push failed; closing')
        socket.close(1011, 'push failed')
      })
    }
    const send = (message: ServerMessage) => sendIfOpen(socket, encodeMessage(message))
    const sendDevices = async () => {
      const devices = await app.presence.snapshot(accountId)
      // Unlinking announces the list: a socket whose device left it, revoked, closes now,
      // since its credential stopped working (a device without a peer id is not listed).
      if (!devices.some((d) => d.deviceId === device.deviceId)) {
        const row = await getDevice(app.db, device.deviceId)
        if (!row || row.revokedAt) return socket.close(1008, 'device unlinked')
      }
      if (cursor !== null) send({ type: 'devices', devices })
    }

    const catchUp = async () => {
      for (;;) {
        const page = await changesAfter(app.db, accountId, cursor!, CATCH_UP_PAGE)
        for (const change of page.changes) send({ type: 'change', change: toChange(change) })
        cursor = page.cursor
        if (!page.hasMore) return
      }
    }

    let resyncQueued = false
    const watching = app.feed.watch(
      accountId,
      (message, raw) => {
        enqueue(async () => {
          // The list as read now, not as published (see Presence.snapshot).
          if (message.type === 'devices') return sendDevices()
          if (cursor === null) return // not caught up yet: the hello's catch-up reads it
          if (!isChangeMessage(message)) return sendIfOpen(socket, raw)
          if (message.change.seq <= cursor) return
          if (message.change.seq === cursor + 1) {
            cursor = message.change.seq
            return sendIfOpen(socket, raw)
          }
          await catchUp()
        })
      },
      // The bus may have lost messages (AccountFeed): read the log on the device's behalf.
      // At most one queued: a slow store must not pile reads up behind one another.
      () => {
        if (cursor === null || resyncQueued) return
        resyncQueued = true
        enqueue(async () => {
          resyncQueued = false
          await catchUp()
        })
      },
    )
    // Awaited by the hello; a socket closed before it must not leave the failure unhandled.
    watching.catch(() => {})

    socket.on('message', (data: Buffer) => {
      enqueue(async () => {
        let hello: ReturnType<typeof parseClientMessage>
        try {
          hello = parseClientMessage(data)
        } catch (err) {
          if (!isCloudsyncError(err)) throw err
          return send({ type: 'error', error: err.toJSON().error })
        }
        // Subscribed before the catch-up read: nothing committed meanwhile is lost.
        await watching
        if (hello.replayAtMost !== undefined) {
          // Far behind: the device takes a snapshot instead, and says hello again.
          const head = (await getAccount(app.db, accountId))?.lastSeq ?? 0
          const far = hello.cursor === 0 || head - hello.cursor > hello.replayAtMost
          if (head > hello.cursor && far)
            return send({ type: 'behind', cursor: hello.cursor, head })
        }
        cursor = hello.cursor
        await catchUp()
        send({ type: 'ready', cursor })
        await sendDevices()
      })
    })

    // A device that vanished without closing (power cut, network gone) leaves a half-open
    // socket that would keep it online and receive pushes forever: each ping must be
    // answered before the next.
    let answered = true
    socket.on('pong', () => {
      answered = true
    })
    const keepalive = setInterval(() => {
      if (!answered) {
        request.log.info({ deviceId: device.deviceId }, 'websocket unanswered ping; dropping')
        return socket.terminate()
      }
      answered = false
      socket.ping()
    }, app.config.wsPingMs)
    keepalive.unref()

    socket.on('close', () => {
      clearInterval(keepalive)
      void watching.then((stop) => stop()).catch(() => {})
      void app.presence.closed(device)
    })
  })
}

function sendIfOpen(socket: WebSocket, text: string): void {
  if (socket.readyState === socket.OPEN) socket.send(text)
}
