/** Linking devices: the link token, the peer id check, and the certificate. */
import { peerIdFromString } from '@libp2p/peer-id'
import type { FastifyInstance } from 'fastify'
import {
  type DeviceCertificate,
  issueCertificate,
  verifyLinkProof,
} from '../../protocol/certificates.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import type {
  DedupDomain,
  DeviceInfo,
  LinkDeviceRequest,
  LinkDeviceResponse,
} from '../../protocol/schemas/devices.ts'
import { createDevice, type Device, getDevice } from '../store/devices.ts'
import { consumeLinkToken } from '../store/link-tokens.ts'

/**
 * The certificate binds a peer id to the account, so the coordinator must know the device
 * holds that peer id's key: the id is the key's hash (identity multihash for Ed25519),
 * checked here, and the request carries the key's signature over the link (assertLinkProof).
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

/** Refuses a link whose proof is not the peer key's signature over this token and peer id. */
export function assertLinkProof(body: LinkDeviceRequest): void {
  if (!verifyLinkProof(body.token, body.peerId, body.publicKey, body.proof)) {
    throw new CloudsyncError(
      'BAD_SIGNATURE',
      'proof is not the signature of publicKey over this link token and peerId',
      { field: 'proof' },
    )
  }
}

/** A certificate for a linked device, valid for the configured lifetime from now. */
export function certificateFor(
  app: FastifyInstance,
  device: { id: string; accountId: string; peerId: string },
): DeviceCertificate {
  const now = app.now().getTime()
  return issueCertificate(
    {
      deviceId: device.id,
      accountId: device.accountId,
      peerId: device.peerId,
      issuedAt: now,
      expiresAt: now + app.config.certificateTtlMs,
    },
    app.keys.privateKey,
  )
}

/** A fresh certificate for the calling device, which its credential proves still linked. */
export async function renewCertificate(
  app: FastifyInstance,
  deviceId: string,
): Promise<DeviceCertificate> {
  const device = await getDevice(app.db, deviceId)
  if (!device || device.revokedAt || !device.peerId) {
    throw new CloudsyncError('NOT_FOUND', `No linked device ${deviceId} with a peer id`)
  }
  return certificateFor(app, { ...device, peerId: device.peerId })
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
  assertLinkProof(body)
  const now = app.now()
  // One transaction: a failure to create the device leaves the token usable.
  const { device, credential } = await app.db.transaction(async (tx) => {
    const { accountId } = await consumeLinkToken(tx, body.token, now)
    return createDevice(tx, { accountId, name: body.name, peerId: body.peerId, now })
  })
  const certificate = certificateFor(app, { ...device, peerId: body.peerId })
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
