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

async function connect(device: TestDevice, autoPong: boolean): Promise<WebSocket> {
  const ws = new WebSocket(`${t.url!.replace(/^http/, 'ws')}/sync/ws`, {
    headers: { authorization: `Bearer ${device.credential}` },
    autoPong,
  })
  await once(ws, 'open')
  ws.send(JSON.stringify({ type: 'hello', cursor: 0 }))
  await new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'ready') resolve()
    })
  })
  return ws
}

const online = async (asker: TestDevice, device: TestDevice) => {
  const list: DeviceInfo[] = (await asker.call({ method: 'GET', url: '/devices' })).json().devices
  return list.find((d) => d.deviceId === device.deviceId)?.online
}

it('drops a socket that leaves pings unanswered, and its device goes offline', async () => {
  const [silent, live] = await newAccount(t.app, ['silent', 'live'])
  const silentWs = await connect(silent!, false)
  const liveWs = await connect(live!, true)
  expect(await online(live!, silent!)).toBe(true)

  let pings = 0
  silentWs.on('ping', () => pings++)
  const [code] = await once(silentWs, 'close')
  // Terminated, not closed with a handshake: 1006 on this side.
  expect(code).toBe(1006)
  expect(pings).toBeGreaterThanOrEqual(1)
  await expect.poll(() => online(live!, silent!)).toBe(false)

  // The one that answers stays, well past the interval.
  await new Promise((r) => setTimeout(r, 5 * PING_MS))
  expect(liveWs.readyState).toBe(WebSocket.OPEN)
  expect(await online(silent!, live!)).toBe(true)
  liveWs.close()
})
