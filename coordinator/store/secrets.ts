import { createHash, randomBytes } from 'node:crypto'

/** 256 random bits, URL-safe: device credentials and link tokens. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * What the store keeps instead of a secret. A plain SHA-256 is enough: the secrets are
 * 256 random bits, so there is nothing to brute-force, and a lookup by hash stays an
 * index probe.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}
