/**
 * Unlinking stops a credential at once on every instance, though each instance remembers
 * credentials for a while (services/credential-cache.ts): two apps share one store and one
 * in-process bus hub; the device is looked up on B (now cached there), unlinked through A,
 * and refused by B on its very next request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryBus, MemoryBusHub } from '../bus/index.ts'
import { CredentialCache } from '../services/credential-cache.ts'
import { type Db, openStore } from '../store/index.ts'
import { asDevice, newAccount, startApp, type TestApp } from './harness.ts'

let db: Db
let a: TestApp
let b: TestApp
beforeAll(async () => {
  db = await openStore()
  const hub = new MemoryBusHub()
  a = await startApp({ deps: { db, bus: new MemoryBus({ hub }) } })
  b = await startApp({ deps: { db, bus: new MemoryBus({ hub }) } })
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  await db?.close()
})

describe('unlinking across instances', () => {
  it('refuses the credential on the other instance at once, though it had it cached', async () => {
    const [laptop, phone] = await newAccount(a.app, ['laptop', 'phone'])
    const phoneOnB = asDevice(b.app, phone!, 'phone')
    expect((await phoneOnB.call({ method: 'GET', url: '/devices' })).statusCode).toBe(200)

    const del = await laptop!.call({ method: 'DELETE', url: `/devices/${phone!.deviceId}` })
    expect(del.statusCode).toBe(204)
    const after = await phoneOnB.call({ method: 'GET', url: '/devices' })
    expect(after.statusCode).toBe(401)
    expect(after.json().error.code).toBe('UNAUTHENTICATED')
    // The unlinked device's neighbour is untouched.
    const laptopOnB = asDevice(b.app, laptop!, 'laptop')
    expect((await laptopOnB.call({ method: 'GET', url: '/devices' })).statusCode).toBe(200)
  })
})

describe('CredentialCache', () => {
  const device = (id: string) => ({ deviceId: id, accountId: 'acc', name: id, lastSeenMs: 0 })

  it('answers until the TTL passes, then forgets', () => {
    const cache = new CredentialCache({ ttlMs: 1000 })
    cache.set('h1', device('d1'), 0)
    expect(cache.get('h1', 999)?.deviceId).toBe('d1')
    expect(cache.get('h1', 1000)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('forgets a device by id, and evicts the oldest when full', () => {
    const cache = new CredentialCache({ ttlMs: 1000, maxEntries: 2 })
    cache.set('h1', device('d1'), 0)
    cache.set('h2', device('d2'), 0)
    cache.forget('d1')
    expect(cache.get('h1', 1)).toBeUndefined()
    cache.set('h3', device('d3'), 0)
    cache.set('h4', device('d4'), 0)
    expect(cache.get('h2', 1)).toBeUndefined()
    expect(cache.get('h4', 1)?.deviceId).toBe('d4')
  })

  it('keeps nothing with a TTL of 0', () => {
    const cache = new CredentialCache({ ttlMs: 0 })
    cache.set('h1', device('d1'), 0)
    expect(cache.get('h1', 0)).toBeUndefined()
  })
})
