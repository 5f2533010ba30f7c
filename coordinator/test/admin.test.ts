import { afterAll, describe, expect, it } from 'vitest'
import { linkDevice, startApp } from './harness.ts'

const operatorToken = 'operator-token-for-tests-0123456789'
const { app, close } = await startApp({ config: { operatorToken } })
afterAll(close)

async function accountCount(): Promise<number> {
  const { rows } = await app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM accounts')
  return rows[0]!.n
}

describe('operator routes', () => {
  it.each([
    ['no credential', {}],
    ['a wrong token', { authorization: 'Bearer operator-token-for-tests-9999999999' }],
    ['a malformed header', { authorization: `Token ${operatorToken}` }],
  ])('refuses account creation with %s and creates nothing', async (_, headers) => {
    const before = await accountCount()
    const res = await app.inject({ method: 'POST', url: '/admin/accounts', headers })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('UNAUTHENTICATED')
    expect(await accountCount()).toBe(before)
  })

  it('creates an account whose link token links its first device, once', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/accounts',
      headers: { authorization: `Bearer ${operatorToken}` },
    })
    expect(res.statusCode).toBe(201)
    const { accountId, token } = res.json() as { accountId: string; token: string }
    const device = await linkDevice(app, token, 'first')
    expect(device.accountId).toBe(accountId)
    await expect(linkDevice(app, token, 'second')).rejects.toThrow(/410/)
  })

  it('does not let a device credential act as the operator', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/admin/accounts',
      headers: { authorization: `Bearer ${operatorToken}` },
    })
    const device = await linkDevice(app, created.json().token, 'laptop')
    const res = await device.call({ method: 'POST', url: '/admin/accounts' })
    expect(res.statusCode).toBe(401)
  })
})
