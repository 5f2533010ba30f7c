import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto'
import Type, { type Static } from 'typebox'
import { CloudsyncError } from './errors.ts'
import { AccountId, Base64, DeviceId, PeerId } from './schemas/common.ts'
import { parser } from './validate.ts'

/**
 * Device certificates bind a libp2p peer id to an account, signed by the coordinator's
 * Ed25519 key, so peers can tell a device of their own account from a stranger on the LAN.
 *
 * Key encodings: a public key travels as standard base64 of its raw 32 bytes; a private
 * key is stored as standard base64 of its PKCS#8 DER. Times are milliseconds since the
 * Unix epoch (integers keep the signed bytes free of time-zone spellings).
 */

const EpochMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 })

export const CertificatePayload = Type.Object(
  {
    deviceId: DeviceId,
    accountId: AccountId,
    peerId: PeerId,
    issuedAt: EpochMs,
    expiresAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false },
)
export type CertificatePayload = Static<typeof CertificatePayload>

/** `signature` is standard base64 of the 64-byte Ed25519 signature over `signedBytes()`. */
export const DeviceCertificate = Type.Object(
  { payload: CertificatePayload, signature: Base64({ minLength: 88, maxLength: 88 }) },
  { additionalProperties: false },
)
export type DeviceCertificate = Static<typeof DeviceCertificate>

const certificateShape = parser(DeviceCertificate, 'device certificate')
const payloadShape = parser(CertificatePayload, 'certificate payload')

/** Clocks of devices and coordinator disagree a little; a fresh certificate may look this far in the future. */
export const CERTIFICATE_CLOCK_SKEW_MS = 5 * 60_000

/** A prefix keeps these signatures from being valid for anything else the key signs. */
const SIGNING_CONTEXT = 'cloudsync device certificate v1\n'

/** Canonical bytes: fixed key order, no white space, absent `expiresAt` left out. */
export function signedBytes(p: CertificatePayload): Uint8Array {
  const canonical = JSON.stringify({
    deviceId: p.deviceId,
    accountId: p.accountId,
    peerId: p.peerId,
    issuedAt: p.issuedAt,
    ...(p.expiresAt !== undefined && { expiresAt: p.expiresAt }),
  })
  return new TextEncoder().encode(SIGNING_CONTEXT + canonical)
}

/** What a device signs with its peer key to link: the single-use token binds it to one link. */
const LINK_PROOF_CONTEXT = 'cloudsync link proof v1\n'

/**
 * The bytes a linking device signs with its libp2p (Ed25519) key, proving to the
 * coordinator that it holds the key of the peer id it asks to have certified.
 */
export function linkProofBytes(token: string, peerId: string): Uint8Array {
  return new TextEncoder().encode(`${LINK_PROOF_CONTEXT}${token}\n${peerId}`)
}

/** Whether `proof` (base64) is the Ed25519 signature of `publicKey` (base64 raw) over the link. */
export function verifyLinkProof(
  token: string,
  peerId: string,
  publicKey: string,
  proof: string,
): boolean {
  try {
    return verify(
      null,
      linkProofBytes(token, peerId),
      decodePublicKey(publicKey),
      Buffer.from(proof, 'base64'),
    )
  } catch {
    return false
  }
}

export interface CoordinatorKeys {
  /** Base64 of the raw 32-byte public key: hand it to devices. */
  publicKey: string
  /** Base64 of the PKCS#8 DER private key: keep it in the coordinator's secrets. */
  privateKey: string
}

export function generateCoordinatorKeys(): CoordinatorKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  return { publicKey: encodePublicKey(publicKey), privateKey: encodePrivateKey(privateKey) }
}

export function encodePublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' })
  return Buffer.from(jwk.x!, 'base64url').toString('base64')
}

export function encodePrivateKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'pkcs8' }).toString('base64')
}

export function decodePublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64')
  if (raw.length !== 32 || raw.toString('base64') !== base64) {
    throw new CloudsyncError('INVALID_INPUT', 'An Ed25519 public key is base64 of 32 raw bytes')
  }
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  })
}

export function decodePrivateKey(base64: string): KeyObject {
  try {
    const key = createPrivateKey({
      key: Buffer.from(base64, 'base64'),
      format: 'der',
      type: 'pkcs8',
    })
    if (key.asymmetricKeyType === 'ed25519') return key
  } catch {
    // fall through to one message for every kind of bad key
  }
  throw new CloudsyncError(
    'INVALID_INPUT',
    'The coordinator private key is not base64 PKCS#8 Ed25519',
  )
}

const asPrivate = (k: KeyObject | string) => (typeof k === 'string' ? decodePrivateKey(k) : k)
const asPublic = (k: KeyObject | string) => (typeof k === 'string' ? decodePublicKey(k) : k)

export function issueCertificate(
  payload: CertificatePayload,
  coordinatorPrivateKey: KeyObject | string,
): DeviceCertificate {
  const checked = payloadShape.parse(payload)
  const signature = sign(null, signedBytes(checked), asPrivate(coordinatorPrivateKey))
  return { payload: { ...checked }, signature: signature.toString('base64') }
}

export interface VerifyOptions {
  now: number | Date
  expectedPeerId?: string
  expectedAccountId?: string
  expectedDeviceId?: string
}

/**
 * Returns the payload of a certificate the coordinator signed that is valid at `now` and
 * matches the expectations. A bad shape, signature or validity period is BAD_SIGNATURE; a
 * genuine certificate for someone else is FORBIDDEN.
 */
export function verifyCertificate(
  cert: unknown,
  coordinatorPublicKey: KeyObject | string,
  options: VerifyOptions,
): CertificatePayload {
  let checked: DeviceCertificate
  try {
    checked = certificateShape.parse(cert)
  } catch (err) {
    throw new CloudsyncError(
      'BAD_SIGNATURE',
      `Device certificate rejected: ${(err as Error).message}`,
    )
  }
  const { payload } = checked
  const signature = Buffer.from(checked.signature, 'base64')
  if (!verify(null, signedBytes(payload), asPublic(coordinatorPublicKey), signature)) {
    throw new CloudsyncError('BAD_SIGNATURE', 'Device certificate signature does not verify')
  }
  const now = typeof options.now === 'number' ? options.now : options.now.getTime()
  if (payload.issuedAt > now + CERTIFICATE_CLOCK_SKEW_MS) {
    throw new CloudsyncError(
      'BAD_SIGNATURE',
      'Device certificate is not valid yet (issued in the future)',
    )
  }
  if (payload.expiresAt !== undefined && now >= payload.expiresAt) {
    const when = new Date(payload.expiresAt).toISOString()
    throw new CloudsyncError('BAD_SIGNATURE', `Device certificate expired at ${when}`)
  }
  const mismatch = (what: string, expected: string | undefined, actual: string) => {
    if (expected !== undefined && expected !== actual) {
      throw new CloudsyncError(
        'FORBIDDEN',
        `Device certificate is for ${what} ${actual}, not ${expected}`,
        {
          field: what,
        },
      )
    }
  }
  mismatch('peerId', options.expectedPeerId, payload.peerId)
  mismatch('accountId', options.expectedAccountId, payload.accountId)
  mismatch('deviceId', options.expectedDeviceId, payload.deviceId)
  return payload
}
