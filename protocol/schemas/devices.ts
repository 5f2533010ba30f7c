import Type, { type Static } from 'typebox'
import { DeviceCertificate } from '../certificates.ts'
import {
  AccountId,
  Addresses,
  Base64,
  DeviceId,
  DisplayName,
  Ed25519PublicKey,
  IsoDateTime,
  PeerId,
  Token,
} from './common.ts'

/** Device linking, listing and addresses (HTTP `/devices`). */

/**
 * `POST /devices`. `publicKey` is the device's libp2p Ed25519 identity key as standard
 * base64 of the raw 32 bytes; the coordinator checks it matches `peerId` before it signs
 * a certificate binding that peer id to the account.
 */
export const LinkDeviceRequest = Type.Object(
  {
    token: Token,
    name: DisplayName,
    peerId: PeerId,
    publicKey: Ed25519PublicKey,
    /** Base64 Ed25519 signature by the peer's key over linkProofBytes(token, peerId). */
    proof: Base64({ minLength: 88, maxLength: 88 }),
  },
  { additionalProperties: false },
)
export type LinkDeviceRequest = Static<typeof LinkDeviceRequest>

/**
 * The account's dedup domain. `account`: the devices hold the secret (it came in the
 * link code, never from here). `global`: the operator's secret, base64 of 32 bytes.
 */
export const DedupDomain = Type.Union([
  Type.Object({ kind: Type.Literal('account') }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('global'), secret: Base64({ minLength: 44, maxLength: 44 }) },
    { additionalProperties: false },
  ),
])
export type DedupDomain = Static<typeof DedupDomain>

export const LinkDeviceResponse = Type.Object(
  {
    deviceId: DeviceId,
    accountId: AccountId,
    /** Bearer credential for HTTP (`Authorization: Bearer …`) and the WebSocket. */
    credential: Token,
    certificate: DeviceCertificate,
    /** Coordinator's Ed25519 public key (base64 raw), to verify peers' certificates. */
    coordinatorKey: Ed25519PublicKey,
    domain: DedupDomain,
  },
  { additionalProperties: false },
)
export type LinkDeviceResponse = Static<typeof LinkDeviceResponse>

/** `POST /devices/self/certificate`: a fresh certificate for a still-linked device. */
export const RenewCertificateResponse = Type.Object(
  { certificate: DeviceCertificate },
  { additionalProperties: false },
)
export type RenewCertificateResponse = Static<typeof RenewCertificateResponse>

export const DeviceInfo = Type.Object(
  {
    deviceId: DeviceId,
    name: DisplayName,
    peerId: PeerId,
    addresses: Addresses,
    online: Type.Boolean(),
    /** Null until the device has connected once. */
    lastSeenAt: Type.Union([IsoDateTime, Type.Null()]),
  },
  { additionalProperties: false },
)
export type DeviceInfo = Static<typeof DeviceInfo>

/** `GET /devices`: the account's devices, the caller included. */
export const DeviceList = Type.Object(
  { devices: Type.Array(DeviceInfo, { maxItems: 1000 }) },
  { additionalProperties: false },
)
export type DeviceList = Static<typeof DeviceList>

/** `DELETE /devices/{deviceId}` (answers 204); its credential and certificate stop working. */
export const DeviceParams = Type.Object({ deviceId: DeviceId }, { additionalProperties: false })
export type DeviceParams = Static<typeof DeviceParams>

/** `POST /devices/invite` (no body): a one-time link token for a new device. */
export const InviteResponse = Type.Object(
  { token: Token, expiresAt: IsoDateTime },
  { additionalProperties: false },
)
export type InviteResponse = Static<typeof InviteResponse>

/** `PUT /devices/self/addresses` (answers 204): the caller's current listen multiaddrs. */
export const UpdateAddressesRequest = Type.Object(
  { addresses: Addresses },
  { additionalProperties: false },
)
export type UpdateAddressesRequest = Static<typeof UpdateAddressesRequest>
