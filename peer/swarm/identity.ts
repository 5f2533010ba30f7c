import type { KeyObject } from 'node:crypto'
import type { CertificatePayload, DeviceCertificate } from '../../protocol/certificates.ts'
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
}

/** The account this device serves: its own certificate's, so the two cannot disagree. */
export const accountOf = (identity: SwarmIdentity): string => identity.certificate.payload.accountId

export function helloFrame(identity: SwarmIdentity): Uint8Array {
  const hello: Hello = { version: CHUNK_PROTOCOL_VERSION, certificate: identity.certificate }
  return encodeHello(hello)
}

/**
 * Accepts the remote side's hello only if the coordinator signed it, it is valid now, it
 * names the connection's authenticated peer id and this device's account. Throws
 * BAD_SIGNATURE or FORBIDDEN otherwise.
 */
export function checkRemoteHello(
  identity: SwarmIdentity,
  hello: Hello,
  remotePeerId: string,
): CertificatePayload {
  return verifyHello(hello, identity.coordinatorKey, {
    now: identity.now?.() ?? Date.now(),
    remotePeerId,
    accountId: accountOf(identity),
  })
}
