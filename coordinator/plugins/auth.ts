/**
 * Bearer device credentials (docs/DESIGN.md "Keys: who knows what"). A route group opts in with
 * `app.addHook('onRequest', app.authenticate)`; its handlers then read `request.device`,
 * and every query they make is scoped to `request.device.accountId`, so a device sees only
 * its own account. Credentials are remembered for a few seconds per instance
 * (services/credential-cache.ts); unlinking a device (`forgetDevice`) drops it from every
 * instance's cache through the bus, so a revoked credential still fails at once.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { CloudsyncError } from '../../protocol/errors.ts'
import { CredentialCache, REVOKED_CHANNEL } from '../services/credential-cache.ts'
import { getDeviceByCredentialHash, updatePresence } from '../store/devices.ts'
import { hashSecret } from '../store/secrets.ts'

export interface AuthDevice {
  deviceId: string
  accountId: string
  name: string
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>
    /** After a device is unlinked: its credential stops working on every instance now. */
    forgetDevice(deviceId: string): Promise<void>
  }
  interface FastifyRequest {
    device: AuthDevice
  }
}

/** A device counts as online when seen this recently (any request or WebSocket ping). */
export const ONLINE_WINDOW_MS = 90_000
/** Seen-at is written at most this often per device, not on every request. */
const PRESENCE_WRITE_INTERVAL_MS = 30_000

/** The credential from `Authorization: Bearer …` (HTTP and the WebSocket upgrade alike). */
export function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header) {
    const match = /^Bearer ([A-Za-z0-9_-]{16,512})$/.exec(header)
    return match?.[1]
  }
  return undefined
}

async function auth(app: FastifyInstance): Promise<void> {
  const lastWrite = new Map<string, number>()
  const cache = new CredentialCache({ ttlMs: app.config.credentialCacheMs })
  const unsubscribe = await app.bus.subscribe(REVOKED_CHANNEL, (deviceId) => cache.forget(deviceId))
  app.addHook('onClose', async () => {
    await unsubscribe().catch(() => {})
  })
  app.decorate('forgetDevice', async (deviceId: string) => {
    cache.forget(deviceId)
    // Stored either way; a lost announcement leaves other instances the TTL's window.
    await app.bus
      .publish(REVOKED_CHANNEL, deviceId)
      .catch((err) => app.log.warn({ err, deviceId }, 'revocation not announced'))
  })

  /** The device behind a credential: from the cache, else the store (and remembered). */
  const deviceOf = async (credential: string, nowMs: number) => {
    const hash = hashSecret(credential)
    const cached = cache.get(hash, nowMs)
    if (cached) return cached
    const row = await getDeviceByCredentialHash(app.db, hash)
    if (!row) return undefined
    const device = {
      deviceId: row.id,
      accountId: row.accountId,
      name: row.name,
      lastSeenMs: row.lastSeenAt?.getTime() ?? 0,
    }
    cache.set(hash, device, nowMs)
    return device
  }

  app.decorateRequest('device', null as unknown as AuthDevice)
  app.decorate('authenticate', async (request: FastifyRequest) => {
    const credential = credentialOf(request)
    if (!credential) {
      throw new CloudsyncError(
        'UNAUTHENTICATED',
        request.headers.authorization
          ? 'Authorization header is not "Bearer <device credential>"'
          : 'Missing Authorization: Bearer <device credential>',
      )
    }
    const now = app.now()
    const device = await deviceOf(credential, now.getTime())
    if (!device) throw new CloudsyncError('UNAUTHENTICATED', 'Unknown or revoked device credential')
    const { deviceId, accountId, name } = device
    request.device = { deviceId, accountId, name }
    const last = lastWrite.get(deviceId) ?? device.lastSeenMs
    if (now.getTime() - last >= PRESENCE_WRITE_INTERVAL_MS) {
      lastWrite.set(deviceId, now.getTime())
      await updatePresence(app.db, deviceId, { now })
    }
  })
}

export const authPlugin = fp(auth, {
  fastify: '5.x',
  name: 'cloudsync-auth',
  dependencies: ['cloudsync-backends'],
})
