/** Linking devices: the link token, the peer id check, and the certificate. */
import { peerIdFromString } from '@libp2p/peer-id'
import type { FastifyInstance } from 'fastify'
import { issueCertificate } from '../../protocol/certificates.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import type {
  DedupDomain,
  DeviceInfo,
  LinkDeviceRequest,
  LinkDeviceResponse,
} from '../../protocol/schemas/devices.ts'
import { createDevice, type Device } from '../store/devices.ts'
import { consumeLinkToken } from '../store/link-tokens.ts'

/**
 * The certificate binds a peer id to the account, so the coordinator must know the device
 * holds that peer id's key: the id is the key's hash (identity multihash for Ed25519),
 * which is checked here; possession itself is proven to peers by the libp2p handshake.
 */
export function assertPeerIdMatches(peerId: string, publicKey: string): void {
  let raw: Uint8Array | undefined
  try {
    const id = peerIdFromString(peerId)
    raw = id.type === 'Ed25519' ? id.publicKey.raw : undefined
  } catch {
    raw = undefined
  }
  if (!raw) {
    throw new CloudsyncError('INVALID_INPUT', 'peerId is not an Ed25519 libp2p peer id', {
      field: 'peerId',
    })
  }
  if (Buffer.from(raw).toString('base64') !== publicKey) {
    throw new CloudsyncError('INVALID_INPUT', 'publicKey is not the key of peerId', {
      field: 'publicKey',
    })
  }
}

export function dedupDomain(app: FastifyInstance): DedupDomain {
  return app.config.dedupDomain === 'global'
    ? { kind: 'global', secret: app.config.globalDomainSecret! }
    : { kind: 'account' }
}

export async function linkDevice(
  app: FastifyInstance,
  body: LinkDeviceRequest,
): Promise<LinkDeviceResponse> {
  assertPeerIdMatches(body.peerId, body.publicKey)
  const now = app.now()
  // One transaction: a failure to create the device leaves the token usable.
  const { device, credential } = await app.db.transaction(async (tx) => {
    const { accountId } = await consumeLinkToken(tx, body.token, now)
    return createDevice(tx, { accountId, name: body.name, peerId: body.peerId, now })
  })
  const certificate = issueCertificate(
    {
      deviceId: device.id,
      accountId: device.accountId,
      peerId: body.peerId,
      issuedAt: now.getTime(),
    },
    app.keys.privateKey,
  )
  return {
    deviceId: device.id,
    accountId: device.accountId,
    credential,
    certificate,
    coordinatorKey: app.keys.publicKey,
    domain: dedupDomain(app),
  }
}

/** `online`: the device has an open WebSocket on some instance (services/presence.ts). */
export function toDeviceInfo(d: Device & { peerId: string }, online: boolean): DeviceInfo {
  return {
    deviceId: d.id,
    name: d.name,
    peerId: d.peerId,
    addresses: d.addresses,
    online,
    lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
  }
}
