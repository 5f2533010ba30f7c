import { describe, expect, it } from 'vitest'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import { UrlSigner } from '../local-signing.ts'
import { chunk } from './blob-store.contract.ts'

const secret = 'test-secret-0123456789abcdef'
const base = 'http://127.0.0.1:4000'

function query(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams)
}

function badSignature(verify: () => unknown): string {
  try {
    verify()
  } catch (err) {
    if (isCloudsyncError(err, 'BAD_SIGNATURE')) return err.message
    throw err
  }
  throw new Error('expected BAD_SIGNATURE')
}

describe('UrlSigner', () => {
  const signer = new UrlSigner({ secret, publicUrl: `${base}/` })
  const { key } = chunk()

  it('signs a URL under the public URL that verifies for its method, key and size', () => {
    const { url, expiresAt } = signer.sign('PUT', key, { size: 10, expiresInSeconds: 60 })
    expect(url.startsWith(`${base}/blobs/${key}?`)).toBe(true)
    expect(signer.verify('PUT', key, query(url))).toEqual({ size: 10 })
    expect(expiresAt.getTime()).toBe(Number(query(url).exp) * 1000)
  })

  it('refuses another key, another method, another size and a tampered signature', () => {
    const put = query(signer.sign('PUT', key, { size: 10, expiresInSeconds: 60 }).url)
    expect(badSignature(() => signer.verify('PUT', chunk().key, put))).toMatch(/does not match/)
    expect(badSignature(() => signer.verify('GET', key, put))).toMatch(/does not match/)
    expect(badSignature(() => signer.verify('PUT', key, { ...put, size: '11' }))).toMatch(
      /does not match/,
    )
    const flipped = put.sig!.startsWith('A') ? `B${put.sig!.slice(1)}` : `A${put.sig!.slice(1)}`
    expect(badSignature(() => signer.verify('PUT', key, { ...put, sig: flipped }))).toMatch(
      /does not match/,
    )
  })

  it('refuses a URL signed with another secret', () => {
    const other = new UrlSigner({ secret: 'another-secret-0123456789', publicUrl: base })
    const get = query(other.sign('GET', key, { expiresInSeconds: 60 }).url)
    expect(badSignature(() => signer.verify('GET', key, get))).toMatch(/does not match/)
  })

  it('refuses an expired URL, and says so', () => {
    const past = new UrlSigner({ secret, publicUrl: base, now: () => Date.now() - 3_600_000 })
    const get = query(past.sign('GET', key, { expiresInSeconds: 60 }).url)
    expect(badSignature(() => signer.verify('GET', key, get))).toMatch(/expired/)
  })

  it('refuses missing or malformed parameters', () => {
    expect(badSignature(() => signer.verify('GET', key, {}))).toMatch(/expiry/)
    expect(badSignature(() => signer.verify('GET', key, { exp: '99999999999' }))).toMatch(/sig/)
    expect(badSignature(() => signer.verify('GET', key, { exp: '1e9', sig: 'x' }))).toMatch(
      /expiry/,
    )
  })

  it('will not sign before it knows its public URL', () => {
    const early = new UrlSigner({ secret })
    expect(() => early.sign('GET', key, { expiresInSeconds: 60 })).toThrow(/setPublicUrl/)
    early.setPublicUrl(base)
    expect(early.sign('GET', key, { expiresInSeconds: 60 }).url).toContain(base)
  })
})
