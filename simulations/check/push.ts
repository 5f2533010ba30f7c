/**
 * The push channel of a simulated device: the coordinator's real `/sync/ws` route through
 * `injectWS`, with the simulated network between. Messages keep their order and arrive
 * after a delay; a partition, a coordinator crash or a network fault breaks the
 * connection (what was still on the wire is lost) and `open` resolves, as the engine
 * expects of a closed channel.
 */
import type { PushChannel } from '../../peer/index.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import { encodeMessage, parseServerMessage, type ServerMessage } from '../../protocol/schemas/ws.ts'
import type { VirtualClock } from './clock.ts'
import type { SimCoordinator } from './coordinator.ts'
import { CALL_TIMEOUT_MS, type SimNetwork } from './network.ts'

export interface SimPushInit {
  device: string
  credential: string
  clock: VirtualClock
  network: SimNetwork
  coordinator: SimCoordinator
  alive: () => boolean
}

export function simPush(init: SimPushInit): PushChannel {
  const { device, clock: virtual, network, coordinator, alive } = init
  const clock = virtual.clockFor(alive)
  return {
    async open(cursor, onMessage, signal, options = {}) {
      signal.throwIfAborted()
      const unavailable = (why: string) => new CloudsyncError('UNAVAILABLE', `Push channel: ${why}`)
      if (network.isolated(device)) {
        await clock.sleep(CALL_TIMEOUT_MS, signal)
        throw unavailable('no connection (partitioned)')
      }
      await clock.sleep(network.delay(), signal)
      if (!coordinator.up) throw unavailable('connection refused')
      const incarnation = coordinator.incarnation
      const ws = await virtual.track(
        coordinator.app.injectWS('/sync/ws', {
          headers: { authorization: `Bearer ${init.credential}` },
        }),
      )
      const queue: { at: number; data: Buffer }[] = []
      let wake: (() => void) | undefined
      let closed = false
      const close = () => {
        if (closed) return
        closed = true
        queue.length = 0
        ws.terminate()
        wake?.()
      }
      const unregister = network.register(device, close)
      const onAbort = () => close()
      signal.addEventListener('abort', onAbort, { once: true })
      if (coordinator.incarnation !== incarnation || network.isolated(device)) close()
      let last = clock.now()
      ws.on('message', (data: Buffer) => {
        if (closed) return
        if (network.breaksPush()) return close()
        last = Math.max(last, clock.now() + network.delay())
        queue.push({ at: last, data })
        wake?.()
      })
      ws.on('close', close)
      const { replayAtMost } = options
      ws.send(
        encodeMessage({
          type: 'hello',
          cursor,
          ...(replayAtMost !== undefined && { replayAtMost }),
        }),
      )
      try {
        while (!closed) {
          const next = queue[0]
          if (!next) {
            await new Promise<void>((resolve) => {
              wake = resolve
            })
            wake = undefined
            continue
          }
          if (next.at > clock.now()) {
            await clock.sleep(next.at - clock.now(), signal).catch(() => {})
            continue
          }
          queue.shift()
          const message: ServerMessage = parseServerMessage(next.data)
          await onMessage(message)
        }
      } finally {
        close()
        unregister()
        signal.removeEventListener('abort', onAbort)
      }
      if (!alive()) await new Promise<never>(() => {})
    },
  }
}
