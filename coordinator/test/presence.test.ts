/**
 * Presence: a device is online while it has an open WebSocket on any instance. Two apps
 * share one store and one in-process bus hub here (the Redis variant runs in
 * multi-instance.process.test.ts); the device lists come over real sockets.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { DeviceInfo } from '../../protocol/schemas/devices.ts'
import { MemoryBus, MemoryBusHub } from '../bus/index.ts'
import { PRESENCE_LEASE_MS } from '../services/presence.ts'
import { type Db, openStore } from '../store/index.ts'
import { markConnected } from '../store/presence.ts'
import { newAccount, startApp, type TestApp, type TestDevice } from './harness.ts'
import { connectWs, isOnline } from './ws-client.ts'

let db: Db
let a: TestApp
let b: TestApp
let clock = Date.now()
beforeAll(async () => {
  db = await openStore()
  const hub = new MemoryBusHub()
  const now = () => new Date(clock)
  a = await startApp({ listen: true, deps: { db, bus: new MemoryBus({ hub }), now } })
  b = await startApp({ listen: true, deps: { db, bus: new MemoryBus({ hub }), now } })
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  await db?.close()
})

const listed = async (device: TestDevice): Promise<DeviceInfo[]> =>
  (await device.call({ method: 'GET', url: '/devices' })).json().devices

/** Online flags in the order of `devices` (the list's order is by link time, and the
 * test clock links them all at one instant). */
const onlineOf = async (asker: TestDevice, devices: TestDevice[]) => {
  const list = await listed(asker)
  return devices.map((d) => list.find((x) => x.deviceId === d.deviceId)?.online)
}

it('shows a device online while its socket is open on either instance, and tells the account', async () => {
  const [laptop, desktop] = await newAccount(a.app, ['laptop', 'desktop'])
  expect(await onlineOf(laptop!, [laptop!, desktop!])).toEqual([false, false])

  const laptopWs = await connectWs(a.url!, laptop!.credential)
  laptopWs.hello(0)
  // After ready, the device gets the list: itself online, the desktop not.
  await laptopWs.until('the first device list', (m) => m.some((x) => x.type === 'devices'))
  expect(laptopWs.messages[0]).toEqual({ type: 'ready', cursor: 0 })
  expect(isOnline(laptopWs.lastDevices(), laptop!.deviceId)).toBe(true)
  expect(isOnline(laptopWs.lastDevices(), desktop!.deviceId)).toBe(false)

  // The desktop connects to the other instance: the laptop's socket hears of it.
  const desktopWs = await connectWs(b.url!, desktop!.credential)
  await laptopWs.until('the desktop online', () =>
    isOnline(laptopWs.lastDevices(), desktop!.deviceId),
  )
  expect(await onlineOf(laptop!, [laptop!, desktop!])).toEqual([true, true])

  await desktopWs.close()
  await laptopWs.until(
    'the desktop offline',
    () => laptopWs.lastDevices()?.find((d) => d.deviceId === desktop!.deviceId)?.online === false,
  )
  expect(await onlineOf(laptop!, [laptop!, desktop!])).toEqual([true, false])
  const after = await listed(laptop!)
  expect(after.find((d) => d.deviceId === desktop!.deviceId)!.lastSeenAt).not.toBeNull()
  await laptopWs.close()
})

it('keeps a device online while one of its two sockets is still open', async () => {
  const [laptop] = await newAccount(a.app, ['laptop'])
  const first = await connectWs(a.url!, laptop!.credential)
  const second = await connectWs(a.url!, laptop!.credential)
  second.hello(0)
  await second.until('online', () => isOnline(second.lastDevices(), laptop!.deviceId))
  await first.close()
  // The close's presence write and announcement go first; the second socket then re-reads.
  await new Promise((r) => setTimeout(r, 200))
  expect(await onlineOf(laptop!, [laptop!])).toEqual([true])
  await second.close()
})

it('closes the socket of a device unlinked while connected, and tells the others', async () => {
  const [laptop, tablet] = await newAccount(a.app, ['laptop', 'tablet'])
  const laptopWs = await connectWs(a.url!, laptop!.credential)
  laptopWs.hello(0)
  const tabletWs = await connectWs(b.url!, tablet!.credential)
  tabletWs.hello(0)
  await laptopWs.until('the tablet online', () =>
    isOnline(laptopWs.lastDevices(), tablet!.deviceId),
  )

  const del = await laptop!.call({ method: 'DELETE', url: `/devices/${tablet!.deviceId}` })
  expect(del.statusCode).toBe(204)
  await tabletWs.closed
  await laptopWs.until('a list without the tablet', () =>
    laptopWs.lastDevices()!.every((d) => d.deviceId !== tablet!.deviceId),
  )
  await laptopWs.close()
})

it("never tells one account about another account's devices", async () => {
  const [mine] = await newAccount(a.app, ['mine'])
  const [theirs] = await newAccount(a.app, ['theirs'])
  const mineWs = await connectWs(a.url!, mine!.credential)
  mineWs.hello(0)
  await mineWs.until('own list', () => isOnline(mineWs.lastDevices(), mine!.deviceId))
  const theirWs = await connectWs(b.url!, theirs!.credential)
  theirWs.hello(0)
  await theirWs.until('own list', () => isOnline(theirWs.lastDevices(), theirs!.deviceId))
  for (const m of mineWs.messages) {
    if (m.type === 'devices') expect(m.devices.map((d) => d.deviceId)).toEqual([mine!.deviceId])
  }
  await mineWs.close()
  await theirWs.close()
})

it('lets the presence of an instance that died without closing lapse', async () => {
  const [laptop, nas] = await newAccount(a.app, ['laptop', 'nas'])
  // What a killed instance leaves behind: a row nobody renews or deletes.
  const expiresAt = new Date(clock + PRESENCE_LEASE_MS)
  await markConnected(db, {
    deviceId: nas!.deviceId,
    instanceId: 'dead',
    expiresAt,
    now: new Date(clock),
  })
  expect(await onlineOf(laptop!, [nas!])).toEqual([true])
  clock += PRESENCE_LEASE_MS + 1
  expect(await onlineOf(laptop!, [nas!])).toEqual([false])
})
