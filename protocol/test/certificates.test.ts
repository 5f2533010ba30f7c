import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  type CertificatePayload,
  decodePrivateKey,
  decodePublicKey,
  encodePublicKey,
  generateCoordinatorKeys,
  issueCertificate,
  signedBytes,
  verifyCertificate,
} from '../certificates.ts'
import { CloudsyncError } from '../errors.ts'

const keys = generateCoordinatorKeys()
const other = generateCoordinatorKeys()
const now = Date.UTC(2025, 5, 1)
const payload: CertificatePayload = {
  deviceId: '0b6f3c2e-8a1d-4c5e-9f70-1a2b3c4d5e6f',
  accountId: '7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5',
  peerId: '12D3KooWGzh8ZpvCQh2uJ5D7G1qGnFQnRy1Jz4Fh8qW6cVbJnUmY',
  issuedAt: now - 1000,
  expiresAt: now + 86_400_000,
}

function rejection(fn: () => unknown): CloudsyncError {
  try {
    fn()
  } catch (err) {
    if (err instanceof CloudsyncError) return err
    throw err
  }
  throw new Error('expected a CloudsyncError')
}

describe('device certificates', () => {
  const cert = issueCertificate(payload, keys.privateKey)

  it('verifies a certificate the coordinator issued', () => {
    const opts = { now, expectedPeerId: payload.peerId, expectedAccountId: payload.accountId }
    expect(verifyCertificate(cert, keys.publicKey, opts)).toEqual(payload)
  })

  it('survives a JSON round trip', () => {
    const copy = JSON.parse(JSON.stringify(cert))
    expect(verifyCertificate(copy, keys.publicKey, { now }).deviceId).toBe(payload.deviceId)
  })

  it('accepts KeyObjects as well as base64 keys', () => {
    const c = issueCertificate(payload, decodePrivateKey(keys.privateKey))
    expect(c.signature).toBe(cert.signature) // Ed25519 is deterministic
    expect(verifyCertificate(c, decodePublicKey(keys.publicKey), { now }).peerId).toBe(
      payload.peerId,
    )
  })

  it('signs canonical bytes whatever the key order of the input', () => {
    const shuffled = {
      expiresAt: payload.expiresAt,
      peerId: payload.peerId,
      issuedAt: payload.issuedAt,
      accountId: payload.accountId,
      deviceId: payload.deviceId,
    } as CertificatePayload
    expect(Buffer.from(signedBytes(shuffled))).toEqual(Buffer.from(signedBytes(payload)))
    expect(issueCertificate(shuffled, keys.privateKey).signature).toBe(cert.signature)
  })

  it.each([
    ['accountId', { accountId: '7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c6' }],
    ['peerId', { peerId: '12D3KooWGzh8ZpvCQh2uJ5D7G1qGnFQnRy1Jz4Fh8qW6cVbJnUmZ' }],
    ['expiresAt', { expiresAt: now + 10 * 86_400_000 }],
    ['expiresAt removed', { expiresAt: undefined }],
  ])('rejects a tampered %s with BAD_SIGNATURE', (_, change) => {
    const tampered = { ...cert, payload: { ...cert.payload, ...change } }
    const err = rejection(() => verifyCertificate(tampered, keys.publicKey, { now }))
    expect(err.code).toBe('BAD_SIGNATURE')
    expect(err.message).toMatch(/signature does not verify/)
  })

  it('rejects a certificate signed by another key', () => {
    const err = rejection(() => verifyCertificate(cert, other.publicKey, { now }))
    expect(err.code).toBe('BAD_SIGNATURE')
  })

  it('rejects an expired certificate', () => {
    const err = rejection(() =>
      verifyCertificate(cert, keys.publicKey, { now: payload.expiresAt! }),
    )
    expect(err.code).toBe('BAD_SIGNATURE')
    expect(err.message).toMatch(/expired at 2025-06-02T00:00:00.000Z/)
    expect(verifyCertificate(cert, keys.publicKey, { now: payload.expiresAt! - 1 })).toBeTruthy()
  })

  it('accepts no expiry, but rejects an issue time far in the future', () => {
    const forever = issueCertificate({ ...payload, expiresAt: undefined }, keys.privateKey)
    expect(
      verifyCertificate(forever, keys.publicKey, { now: now + 1e12 }).expiresAt,
    ).toBeUndefined()
    const early = rejection(() => verifyCertificate(cert, keys.publicKey, { now: now - 3_600_000 }))
    expect(early.message).toMatch(/not valid yet/)
  })

  it('rejects a genuine certificate for another peer or account with FORBIDDEN', () => {
    const wrongPeer = rejection(() =>
      verifyCertificate(cert, keys.publicKey, {
        now,
        expectedPeerId: '12D3KooWAnotherPeerIdAnotherPeerIdAnotherPeerId12',
      }),
    )
    expect(wrongPeer.code).toBe('FORBIDDEN')
    expect(wrongPeer.message).toMatch(/peerId/)
    const wrongAccount = rejection(() =>
      verifyCertificate(cert, keys.publicKey, {
        now,
        expectedAccountId: '00000000-0000-4000-8000-000000000000',
      }),
    )
    expect(wrongAccount.code).toBe('FORBIDDEN')
    expect(wrongAccount.message).toMatch(/accountId/)
  })

  it.each([
    ['not an object', 'cert'],
    ['missing signature', { payload }],
    ['extra field', { ...cert, admin: true }],
    ['short signature', { ...cert, signature: 'AAAA' }],
  ])('rejects a malformed certificate (%s) with BAD_SIGNATURE', (_, value) => {
    const err = rejection(() => verifyCertificate(value, keys.publicKey, { now }))
    expect(err.code).toBe('BAD_SIGNATURE')
    expect(err.message).toMatch(/Device certificate rejected/)
  })

  it('encodes public keys as base64 of the raw 32 bytes', () => {
    const { publicKey } = generateKeyPairSync('ed25519')
    const encoded = encodePublicKey(publicKey)
    expect(Buffer.from(encoded, 'base64')).toHaveLength(32)
    expect(decodePublicKey(encoded).equals(publicKey)).toBe(true)
    expect(() => decodePublicKey('AAAA')).toThrow(/32 raw bytes/)
    expect(() => decodePrivateKey(keys.publicKey)).toThrow(/PKCS#8/)
  })

  it('refuses to issue a certificate with a bad payload', () => {
    expect(() => issueCertificate({ ...payload, issuedAt: -1 }, keys.privateKey)).toThrow(
      /issuedAt/,
    )
  })
})
