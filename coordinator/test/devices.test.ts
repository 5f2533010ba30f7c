import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyCertificate } from '../../protocol/certificates.ts'
import { createAccount } from '../services/accounts.ts'
import {
  linkDevice,
  newAccount,
  peerIdentity,
  snapshot,
  startApp,
  type TestApp,
} from './harness.ts'

let t: TestApp
beforeAll(async () => {
  t = await startApp()
})
afterAll(() => t.close())

const link = (payload: unknown) =>
  t.app.inject({ method: 'POST', url: '/devices', payload: payload as object })

describe('POST /devices', () => {
  it('links a device and signs a certificate that verifies with the coordinator key', async () => {
    const { token, accountId } = await createAccount(t.app.db, { print: null })
    const identity = await peerIdentity(token)
    const res = await link({ token, name: 'laptop', ...identity })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body.accountId).toBe(accountId)
    expect(body.domain).toEqual({ kind: 'account' })
    const payload = verifyCertificate(body.certificate, body.coordinatorKey, {
      now: new Date(),
      expectedPeerId: identity.peerId,
      expectedAccountId: accountId,
    })
    expect(payload.deviceId).toBe(body.deviceId)
  })

  it('refuses a token used twice (410), an unknown one (401), and writes nothing', async () => {
    const { token } = await createAccount(t.app.db, { print: null })
    await linkDevice(t.app, token, 'first')
    const before = await snapshot(t.app.db)
    const again = await link({ token, name: 'second', ...(await peerIdentity(token)) })
    expect(again.statusCode).toBe(410)
    expect(again.json().error.message).toMatch(/already used/)
    const unknown = await link({
      token: 'x'.repeat(43),
      name: 'n',
      ...(await peerIdentity('x'.repeat(43))),
    })
    expect(unknown.statusCode).toBe(401)
    expect(await snapshot(t.app.db)).toEqual(before)
  })

  it('refuses a public key that is not the peer id, keeping the token usable', async () => {
    const { token } = await createAccount(t.app.db, { print: null })
    const a = await peerIdentity(token)
    const b = await peerIdentity(token)
    const res = await link({
      token,
      name: 'n',
      peerId: a.peerId,
      publicKey: b.publicKey,
      proof: b.proof,
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.details.field).toBe('publicKey')
    expect((await link({ token, name: 'n', ...a })).statusCode).toBe(201)
  })

  it.each([
    ['an extra field', { extra: 1 }, 'extra'],
    ['a missing name', { name: undefined }, 'name'],
    ['a name with a control character', { name: 'a\u0007b' }, 'name'],
    ['a number as token', { token: 12345 }, 'token'],
  ])('refuses %s and names the field', async (_, change, field) => {
    const { token } = await createAccount(t.app.db, { print: null })
    const res = await link({ token, name: 'n', ...(await peerIdentity(token)), ...change })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('INVALID_INPUT')
    expect(res.json().error.message).toContain(field)
  })

  it('refuses malformed JSON with a 400 that says so', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/devices',
      headers: { 'content-type': 'application/json' },
      payload: '{"token": ',
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.message).toMatch(/not valid JSON/)
  })
})

describe('linked devices', () => {
  it('lists the account devices, invites, updates addresses, and revokes at once', async () => {
    const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
    const put = await desktop!.call({
      method: 'PUT',
      url: '/devices/self/addresses',
      payload: { addresses: ['/ip4/192.168.1.5/tcp/4001'] },
    })
    expect(put.statusCode).toBe(204)
    const list = (await laptop!.call({ method: 'GET', url: '/devices' })).json()
    expect(list.devices.map((d: { name: string }) => d.name)).toEqual(['laptop', 'desktop'])
    expect(list.devices[1].addresses).toEqual(['/ip4/192.168.1.5/tcp/4001'])
    // Online means an open WebSocket (presence.test.ts); HTTP requests only set seen-at.
    expect(list.devices[0].online).toBe(false)
    expect(list.devices[0].lastSeenAt).not.toBeNull()

    const del = await laptop!.call({ method: 'DELETE', url: `/devices/${desktop!.deviceId}` })
    expect(del.statusCode).toBe(204)
    const after = await desktop!.call({ method: 'GET', url: '/devices' })
    expect(after.statusCode).toBe(401)
    expect(after.json().error.code).toBe('UNAUTHENTICATED')
  })

  it("cannot unlink another account's device", async () => {
    const [a] = await newAccount(t.app)
    const [b] = await newAccount(t.app)
    const res = await a!.call({ method: 'DELETE', url: `/devices/${b!.deviceId}` })
    expect(res.statusCode).toBe(404)
    expect((await b!.call({ method: 'GET', url: '/devices' })).statusCode).toBe(200)
  })

  it.each([
    ['no header', undefined],
    ['a bad scheme', 'Basic abc'],
    ['an unknown credential', `Bearer ${'A'.repeat(43)}`],
  ])('answers 401 to %s', async (_, authorization) => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/devices',
      headers: authorization ? { authorization } : {},
    })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('UNAUTHENTICATED')
  })
})
