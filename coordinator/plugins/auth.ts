/**
 * Bearer device credentials (DESIGN.md "Keys"). A route group opts in with
 * `app.addHook('onRequest', app.authenticate)`; its handlers then read `request.device`,
 * and every query they make is scoped to `request.device.accountId`, so a device sees only
 * its own account. A revoked credential fails at once: nothing is cached.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { CloudsyncError } from '../../protocol/errors.ts'
import { getDeviceByCredential, updatePresence } from '../store/devices.ts'

export interface AuthDevice {
  deviceId: string
  accountId: string
  name: string
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>
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
    const device = await getDeviceByCredential(app.db, credential)
    if (!device) throw new CloudsyncError('UNAUTHENTICATED', 'Unknown or revoked device credential')
    request.device = { deviceId: device.id, accountId: device.accountId, name: device.name }
    const now = app.now()
    const last = lastWrite.get(device.id) ?? device.lastSeenAt?.getTime() ?? 0
    if (now.getTime() - last >= PRESENCE_WRITE_INTERVAL_MS) {
      lastWrite.set(device.id, now.getTime())
      await updatePresence(app.db, device.id, { now })
    }
  })
}

export const authPlugin = fp(auth, {
  fastify: '5.x',
  name: 'cloudsync-auth',
  dependencies: ['cloudsync-backends'],
})
