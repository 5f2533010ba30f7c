/**
 * Accounts and devices for the benchmark. When the benchmark owns the store it writes them
 * there directly (seconds, not minutes, for 2,000 devices); against a running coordinator
 * it links devices over HTTP, with a link token from `account create` (one account) or
 * accounts it creates through `POST /admin/accounts` with the operator token.
 */
import { createDomainSecret } from '../../protocol/crypto/keys.ts'
import { createAccount } from '../services/accounts.ts'
import { createDevice } from '../store/devices.ts'
import type { Db } from '../store/index.ts'
import { call, expectStatus, newPeerId, runFor } from './client.ts'

export interface SeededDevice {
  accountId: string
  deviceId: string
  credential: string
  /** The account's domain secret: devices hold it, the coordinator never sees it. */
  secret: Uint8Array
}

/** `plan[i]` devices in account i, written straight into the store. */
export async function seedViaStore(db: Db, plan: number[]): Promise<SeededDevice[][]> {
  const accounts: SeededDevice[][] = plan.map(() => [])
  await runFor(plan.length, Number.POSITIVE_INFINITY, 8, async (i) => {
    const { accountId } = await createAccount(db, { print: null })
    const secret = createDomainSecret()
    for (let d = 0; d < plan[i]!; d++) {
      const { peerId } = await newPeerId('')
      const now = new Date()
      const { device, credential } = await createDevice(db, {
        accountId,
        name: `bench-${i}-${d}`,
        peerId,
        now,
      })
      accounts[i]!.push({ accountId, deviceId: device.id, credential, secret })
    }
  })
  return accounts
}

/** `devices` devices linked over HTTP into the account of `token` (invites after the first). */
export async function seedViaHttp(
  base: string,
  token: string,
  devices: number,
): Promise<SeededDevice[]> {
  const secret = createDomainSecret()
  const linked: SeededDevice[] = []
  let next = token
  for (let d = 0; d < devices; d++) {
    if (d > 0) {
      const invite = await call(`${base}/devices/invite`, 'POST', {
        credential: linked[0]!.credential,
      })
      next = expectStatus(invite, 201, 'invite').body.token
    }
    const identity = await newPeerId(next)
    const answer = await call(`${base}/devices`, 'POST', {
      body: { token: next, name: `bench-${d}`, ...identity },
    })
    const { accountId, deviceId, credential } = expectStatus(answer, 201, 'link').body
    linked.push({ accountId, deviceId, credential, secret })
  }
  return linked
}

/** `plan[i]` devices in account i, all over HTTP: accounts through the operator route. */
export async function seedViaAdmin(
  base: string,
  operatorToken: string,
  plan: number[],
): Promise<SeededDevice[][]> {
  const accounts: SeededDevice[][] = plan.map(() => [])
  await runFor(plan.length, Number.POSITIVE_INFINITY, 8, async (i) => {
    const created = await call(`${base}/admin/accounts`, 'POST', { credential: operatorToken })
    const { token } = expectStatus(created, 201, 'admin account create').body
    accounts[i] = await seedViaHttp(base, token, plan[i]!)
  })
  return accounts
}
