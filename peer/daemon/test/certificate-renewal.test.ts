/** A linked device renews its certificate at half its lifetime, and keeps the new one. */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import {
  type DeviceCertificate,
  generateCoordinatorKeys,
  issueCertificate,
} from '../../../protocol/certificates.ts'
import { CertificateRenewal } from '../certificate-renewal.ts'
import type { DeviceState } from '../device-state.ts'

const keys = generateCoordinatorKeys()
const cert = (issuedAt: number, expiresAt: number): DeviceCertificate =>
  issueCertificate(
    {
      deviceId: '00000000-0000-4000-8000-000000000001',
      accountId: '00000000-0000-4000-8000-000000000002',
      peerId: '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
      issuedAt,
      expiresAt,
    },
    keys.privateKey,
  )

it('renews only past half the lifetime, and the swarm identity and state file get the new one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cloudsync-renewal-'))
  try {
    let now = 1_000_000
    const first = cert(now, now + 1000)
    const identity = { certificate: first, coordinatorKey: keys.publicKey }
    const state = { certificate: first } as DeviceState
    let calls = 0
    const renewal = new CertificateRenewal({
      identity,
      state,
      stateDir: dir,
      renew: async () => {
        calls++
        return cert(now, now + 1000)
      },
      log: () => {},
      now: () => now,
    })
    now += 400
    await renewal.check()
    expect(calls).toBe(0)
    now += 200
    await renewal.check()
    expect(calls).toBe(1)
    expect(identity.certificate.payload.issuedAt).toBe(now)
    const saved = JSON.parse(await readFile(join(dir, 'device.json'), 'utf8'))
    expect(saved.certificate).toEqual(identity.certificate)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
