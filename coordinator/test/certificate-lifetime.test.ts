/**
 * Device certificates (issue 15, sections 1 and 4): the coordinator certifies a peer id only
 * with the key's signature over the link, certificates expire, and only a still-linked
 * device gets a fresh one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyCertificate } from '../../protocol/certificates.ts'
import { createAccount } from '../services/accounts.ts'
import { newAccount, peerIdentity, snapshot, startApp, type TestApp } from './harness.ts'

const TTL_MS = 3_600_000
let t: TestApp
beforeAll(async () => {
  t = await startApp({ config: { certificateTtlMs: TTL_MS } })
})
afterAll(() => t.close())

describe('linking', () => {
  it("refuses a link whose proof is not the peer key's signature over the token", async () => {
    const { token } = await createAccount(t.app.db, { print: null })
    const mine = await peerIdentity(token)
    const other = await peerIdentity(token)
    const elsewhere = await peerIdentity('z'.repeat(43))
    const before = await snapshot(t.app.db)
    for (const proof of [other.proof, elsewhere.proof]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/devices',
        payload: { token, name: 'n', peerId: mine.peerId, publicKey: mine.publicKey, proof },
      })
      expect(res.statusCode).toBe(403)
      expect(res.json().error).toMatchObject({ code: 'BAD_SIGNATURE', details: { field: 'proof' } })
    }
    expect(await snapshot(t.app.db)).toEqual(before)
    const ok = await t.app.inject({
      method: 'POST',
      url: '/devices',
      payload: { token, name: 'n', ...mine },
    })
    expect(ok.statusCode).toBe(201)
  })
})

describe('certificate lifetime', () => {
  it('issues certificates that expire, renews them for linked devices only', async () => {
    const [laptop, phone] = await newAccount(t.app, ['laptop', 'phone'])
    const issued = laptop!.certificate.payload
    expect(issued.expiresAt).toBe(issued.issuedAt + TTL_MS)
    expect(() =>
      verifyCertificate(laptop!.certificate, laptop!.coordinatorKey, { now: issued.expiresAt! }),
    ).toThrow(/expired/)

    const renewed = await laptop!.call({ method: 'POST', url: '/devices/self/certificate' })
    expect(renewed.statusCode, renewed.body).toBe(200)
    const payload = verifyCertificate(renewed.json().certificate, laptop!.coordinatorKey, {
      now: new Date(),
      expectedPeerId: issued.peerId,
      expectedDeviceId: laptop!.deviceId,
    })
    expect(payload.expiresAt).toBeGreaterThanOrEqual(issued.expiresAt!)

    const unlink = await laptop!.call({ method: 'DELETE', url: `/devices/${phone!.deviceId}` })
    expect(unlink.statusCode).toBe(204)
    const refused = await phone!.call({ method: 'POST', url: '/devices/self/certificate' })
    expect(refused.statusCode).toBe(401)
  })
})
