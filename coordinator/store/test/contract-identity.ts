import { describe, expect, it } from 'vitest'
import { createAccount, getAccount } from '../accounts.ts'
import type { Db } from '../db.ts'
import {
  createDevice,
  getDevice,
  getDeviceByCredential,
  listDevices,
  revokeDevice,
  updatePresence,
} from '../devices.ts'
import { consumeLinkToken, createLinkToken } from '../link-tokens.ts'
import { hashSecret } from '../secrets.ts'
import { errorCode, ticker } from './fixtures.ts'

export function identityContract(db: () => Db): void {
  describe('accounts, link tokens, devices', () => {
    const now = ticker()

    it('creates an account with an empty change log', async () => {
      const at = now()
      const account = await createAccount(db(), at)
      expect(await getAccount(db(), account.id)).toEqual({
        id: account.id,
        createdAt: at,
        lastSeq: 0,
      })
    })

    it('consumes a link token once; used, expired and unknown tokens are refused', async () => {
      const { id: accountId } = await createAccount(db(), now())
      const { token } = await createLinkToken(db(), {
        accountId,
        createdByDevice: null,
        now: now(),
        ttlMs: 60_000,
      })
      expect(await consumeLinkToken(db(), token, now())).toEqual({
        accountId,
        createdByDevice: null,
      })
      expect(await errorCode(consumeLinkToken(db(), token, now()))).toBe('GONE')

      const t0 = now()
      const expiring = await createLinkToken(db(), {
        accountId,
        createdByDevice: null,
        now: t0,
        ttlMs: 1000,
      })
      expect(
        await errorCode(consumeLinkToken(db(), expiring.token, new Date(t0.getTime() + 1000))),
      ).toBe('GONE')
      expect(await errorCode(consumeLinkToken(db(), 'not-a-token', now()))).toBe('UNAUTHENTICATED')
    })

    it('leaves a link token unused when the transaction consuming it fails', async () => {
      const { id: accountId } = await createAccount(db(), now())
      const { token } = await createLinkToken(db(), {
        accountId,
        createdByDevice: null,
        now: now(),
        ttlMs: 60_000,
      })
      await expect(
        db().transaction(async (tx) => {
          await consumeLinkToken(tx, token, now())
          throw new Error('device creation failed')
        }),
      ).rejects.toThrow('device creation failed')
      expect((await consumeLinkToken(db(), token, now())).accountId).toBe(accountId)
    })

    it('authenticates a device by credential, stores only its hash, and forgets it once revoked', async () => {
      const { id: accountId } = await createAccount(db(), now())
      const { device, credential } = await createDevice(db(), {
        accountId,
        name: 'laptop',
        now: now(),
      })
      const other = await createDevice(db(), { accountId, name: 'phone', now: now() })
      expect((await getDeviceByCredential(db(), credential))?.id).toBe(device.id)

      const { rows } = await db().query<{ h: string }>(
        'SELECT credential_hash AS h FROM devices WHERE id = $1',
        [device.id],
      )
      expect(rows[0]?.h).toBe(hashSecret(credential))
      expect(rows[0]?.h).not.toContain(credential)

      expect(await revokeDevice(db(), accountId, device.id, now())).toBe(true)
      expect(await revokeDevice(db(), accountId, device.id, now())).toBe(false)
      expect(await getDeviceByCredential(db(), credential)).toBeUndefined()
      expect((await listDevices(db(), accountId)).map((d) => d.id)).toEqual([other.device.id])
    })

    it('records presence: last seen, addresses and peer id', async () => {
      const { id: accountId } = await createAccount(db(), now())
      const { device } = await createDevice(db(), { accountId, name: 'nas', now: now() })
      const seen = now()
      await updatePresence(db(), device.id, {
        now: seen,
        addresses: ['/ip4/10.0.0.2/tcp/4001'],
        peerId: '12D3KooW',
      })
      await updatePresence(db(), device.id, { now: seen })
      const stored = await getDevice(db(), device.id)
      expect(stored).toMatchObject({
        lastSeenAt: seen,
        addresses: ['/ip4/10.0.0.2/tcp/4001'],
        peerId: '12D3KooW',
      })
    })
  })
}
