/**
 * No one device or account holds unbounded upload state (issue 15, section 3): open
 * sessions per device and session chunk rows per account are capped, each answered 429
 * TOO_MANY, writing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testConfig } from '../config.ts'
import { upload } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  snapshot,
  startApp,
  type TestApp,
  type TestDevice,
} from './harness.ts'

let t: TestApp
beforeAll(async () => {
  const limits = {
    ...testConfig().limits,
    maxOpenSessionsPerDevice: 2,
    maxPendingChunksPerAccount: 5,
  }
  t = await startApp({ listen: true, config: { limits } })
})
afterAll(() => t.close())

const init = (device: TestDevice, path: string, sizes: number[]) =>
  device.call({
    method: 'POST',
    url: '/files/upload/init',
    payload: { path, ...makeFile(sizes).manifest, baseVersion: null },
  })

describe('upload limits', () => {
  it('caps open sessions per device; each device has its own allowance', async () => {
    const [laptop, phone] = await newAccount(t.app, ['laptop', 'phone'])
    expect((await init(laptop!, 'a', [10])).statusCode).toBe(201)
    expect((await init(laptop!, 'b', [10])).statusCode).toBe(201)
    const before = await snapshot(t.app.db)
    const third = await init(laptop!, 'c', [10])
    expect(third.statusCode).toBe(429)
    expect(third.json().error).toMatchObject({ code: 'TOO_MANY', details: { limit: 2, open: 2 } })
    expect(third.json().error.message).toMatch(/upload sessions open/)
    expect(await snapshot(t.app.db)).toEqual(before)
    // Another device of the account has its own allowance.
    expect((await init(phone!, 'd', [10])).statusCode).toBe(201)
  })

  it('caps the chunk rows an account holds in open sessions', async () => {
    const [laptop, phone] = await newAccount(t.app, ['laptop', 'phone'])
    expect((await init(laptop!, 'a', [10, 10, 10])).statusCode).toBe(201)
    const before = await snapshot(t.app.db)
    const over = await init(phone!, 'b', [10, 10, 10])
    expect(over.statusCode).toBe(429)
    expect(over.json().error).toMatchObject({
      code: 'TOO_MANY',
      details: { limit: 5, open: 3, requested: 3 },
    })
    expect(await snapshot(t.app.db)).toEqual(before)
    // Up to the limit, inits pass.
    await upload(phone!, 'small', makeFile([10, 10]), null)
    const [other] = await newAccount(t.app)
    expect((await init(other!, 'x', [10, 10, 10, 10, 10])).statusCode).toBe(201)
  })
})
