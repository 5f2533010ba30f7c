/**
 * A device that vanishes without closing its socket (power cut, network gone) must not
 * stay online: the coordinator pings every socket and drops one that left the previous
 * ping unanswered. `ws` can leave pings unanswered (autoPong: false), which is how such a
 * device looks from the server; the browser-style WebSocket answers them by itself.
 */
import { once } from 'node:events'
import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { DeviceInfo } from '../../protocol/schemas/devices.ts'
import { newAccount, startApp, type TestApp, type TestDevice } from './harness.ts'

const PING_MS = 100

let t: TestApp
beforeAll(async () => {
  t = await startApp({ listen: true, config: { wsPingMs: PING_MS } })
})
afterAll(() => t.close())

/**
 * A socket that answers pings by hand while `answering()` says so, and counts those it
 * leaves unanswered; its close code is kept from the first moment.
 */
interface Silenceable {
  ws: WebSocket
  unanswered: number
  closed: Promise<number>
}

async function connectSilenceable(device: TestDevice, answering: () => boolean) {
  const ws = new WebSocket(`${t.url!.replace(/^http/, 'ws')}/sync/ws`, {
    headers: { authorization: `Bearer ${device.credential}` },
    autoPong: false,
  })
  const s: Silenceable = {
    ws,
    unanswered: 0,
    closed: once(ws, 'close').then(([code]) => code as number),
  }
  ws.on('ping', (data) => {
    if (answering()) ws.pong(data)
    else s.unanswered++
  })
  await hello(ws)
  return s
}

async function connect(device: TestDevice, autoPong: boolean): Promise<WebSocket> {
  const ws = new WebSocket(`${t.url!.replace(/^http/, 'ws')}/sync/ws`, {
    headers: { authorization: `Bearer ${device.credential}` },
    autoPong,
  })
  await hello(ws)
  return ws
}

async function hello(ws: WebSocket): Promise<void> {
  await once(ws, 'open')
  ws.send(JSON.stringify({ type: 'hello', cursor: 0 }))
  await new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'ready') resolve()
    })
  })
}

const online = async (asker: TestDevice, device: TestDevice) => {
  const list: DeviceInfo[] = (await asker.call({ method: 'GET', url: '/devices' })).json().devices
  return list.find((d) => d.deviceId === device.deviceId)?.online
}

it('drops a socket that leaves pings unanswered, and its device goes offline', async () => {
  const [silent, live] = await newAccount(t.app, ['silent', 'live'])
  // It answers until it has been seen online; then it falls silent, as a vanished device.
  let answering = true
  const silenced = await connectSilenceable(silent!, () => answering)
  const liveWs = await connect(live!, true)
  expect(await online(live!, silent!)).toBe(true)
  answering = false

  const code = await silenced.closed
  // Terminated, not closed with a handshake: 1006 on this side.
  expect(code).toBe(1006)
  expect(silenced.unanswered).toBeGreaterThanOrEqual(1)
  await expect.poll(() => online(live!, silent!)).toBe(false)

  // The one that answers stays, well past the interval.
  await new Promise((r) => setTimeout(r, 5 * PING_MS))
  expect(liveWs.readyState).toBe(WebSocket.OPEN)
  expect(await online(silent!, live!)).toBe(true)
  liveWs.close()
})
