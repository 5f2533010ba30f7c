/**
 * Keeps the device's certificate fresh: certificates expire (docs/SECURITY.md), so a linked
 * device asks the coordinator for a new one once half of its lifetime has passed, and at
 * start when it has none that is still good. The swarm presents the new one from its next
 * stream on; the state file keeps it for restarts. An unlinked device's credential is
 * refused, so it cannot renew and drops off the swarm when its certificate expires.
 */
import type { DeviceCertificate } from '../../protocol/certificates.ts'
import type { SwarmIdentity } from '../swarm/index.ts'
import { type DeviceState, saveDeviceState } from './device-state.ts'

/** How often the certificate's age is looked at. */
const CHECK_EVERY_MS = 60_000

export interface CertificateRenewalInit {
  identity: SwarmIdentity
  state: DeviceState
  stateDir: string
  renew: () => Promise<DeviceCertificate>
  log: (level: 'warn' | 'info', message: string, fields?: Record<string, unknown>) => void
  now?: () => number
}

/** Whether the certificate has passed half its lifetime (or has none). */
export function needsRenewal(cert: DeviceCertificate, now: number): boolean {
  const { issuedAt, expiresAt } = cert.payload
  if (expiresAt === undefined) return true
  return now >= issuedAt + (expiresAt - issuedAt) / 2
}

export class CertificateRenewal {
  readonly #init: CertificateRenewalInit
  #timer: NodeJS.Timeout | undefined

  constructor(init: CertificateRenewalInit) {
    this.#init = init
  }

  /** Renews now if due, then checks every minute. */
  async start(): Promise<void> {
    await this.check()
    this.#timer = setInterval(() => void this.check(), CHECK_EVERY_MS)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  async check(): Promise<void> {
    const { identity, state, stateDir, renew, log } = this.#init
    const now = this.#init.now?.() ?? Date.now()
    if (!needsRenewal(identity.certificate, now)) return
    try {
      const certificate = await renew()
      identity.certificate = certificate
      state.certificate = certificate
      await saveDeviceState(stateDir, state)
      log('info', 'device certificate renewed', { expiresAt: certificate.payload.expiresAt })
    } catch (err) {
      log('warn', 'could not renew the device certificate', { error: (err as Error).message })
    }
  }
}
