import type { KeyObject } from 'node:crypto'
import type { CertificatePayload, DeviceCertificate } from '../../protocol/certificates.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import {
  CHUNK_PROTOCOL_VERSION,
  encodeHello,
  type Hello,
  verifyHello,
} from '../../protocol/p2p/chunk-protocol.ts'

/**
 * Who this device is in the swarm and whom it trusts: its coordinator-signed certificate
 * (presented as its hello on every stream) and the coordinator's public key (every remote
 * hello must verify against it). Both sides of the chunk protocol share this.
 */
export interface SwarmIdentity {
  certificate: DeviceCertificate
  /** Base64 of the coordinator's raw Ed25519 public key, or the key itself. */
  coordinatorKey: KeyObject | string
  /** Milliseconds since the epoch; injected so a simulator can run on virtual time. */
  now?: () => number
  /**
   * Whether a device with a verified certificate is still linked (LinkedPeers.admits):
   * certificates outlive an unlink until they expire. Absent: the certificate decides.
   */
  admits?: (payload: CertificatePayload) => boolean
}

/** The account this device serves: its own certificate's, so the two cannot disagree. */
export const accountOf = (identity: SwarmIdentity): string => identity.certificate.payload.accountId

export function helloFrame(identity: SwarmIdentity): Uint8Array {
  const hello: Hello = { version: CHUNK_PROTOCOL_VERSION, certificate: identity.certificate }
  return encodeHello(hello)
}

/**
 * Accepts the remote side's hello only if the coordinator signed it, it is valid now, it
 * names the connection's authenticated peer id and this device's account, and the device
 * is still linked. Throws BAD_SIGNATURE or FORBIDDEN otherwise.
 */
export function checkRemoteHello(
  identity: SwarmIdentity,
  hello: Hello,
  remotePeerId: string,
): CertificatePayload {
  const payload = verifyHello(hello, identity.coordinatorKey, {
    now: identity.now?.() ?? Date.now(),
    remotePeerId,
    accountId: accountOf(identity),
  })
  assertStillLinked(identity, payload)
  return payload
}

/** FORBIDDEN once the certificate's device is unlinked or its certificate expired. */
export function assertStillLinked(identity: SwarmIdentity, payload: CertificatePayload): void {
  const now = identity.now?.() ?? Date.now()
  if (payload.expiresAt !== undefined && now >= payload.expiresAt) {
    throw new CloudsyncError('FORBIDDEN', `Device ${payload.deviceId}'s certificate expired`)
  }
  if (identity.admits && !identity.admits(payload)) {
    throw new CloudsyncError('FORBIDDEN', `Device ${payload.deviceId} is no longer linked`)
  }
}
