import { CloudsyncError } from '../../protocol/errors.ts'
import type { Db } from './db.ts'
import { hashSecret, newSecret } from './secrets.ts'

export interface NewLinkToken {
  accountId: string
  /** The device that invites; null for the account's first device. */
  createdByDevice: string | null
  now: Date
  ttlMs: number
}

/** A single-use token that lets one new device join the account until it expires. */
export async function createLinkToken(
  db: Db,
  t: NewLinkToken,
): Promise<{ token: string; expiresAt: Date }> {
  const token = newSecret()
  const expiresAt = new Date(t.now.getTime() + t.ttlMs)
  await db.query(
    `INSERT INTO link_tokens (token_hash, account_id, created_by_device, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)`,
    [hashSecret(token), t.accountId, t.createdByDevice, t.now, expiresAt],
  )
  return { token, expiresAt }
}

export interface ConsumedLinkToken {
  accountId: string
  createdByDevice: string | null
}

/**
 * Uses up a link token. Run it in the transaction that creates the new device, so a
 * failure to create the device leaves the token usable. Unknown -> UNAUTHENTICATED;
 * used or expired -> GONE (the person needs a fresh link code).
 */
export async function consumeLinkToken(
  db: Db,
  token: string,
  now: Date,
): Promise<ConsumedLinkToken> {
  const hash = hashSecret(token)
  // One conditional UPDATE: of two devices racing with the same token, exactly one wins.
  const { rows } = await db.query<ConsumedLinkToken>(
    `UPDATE link_tokens SET used_at = $2
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
     RETURNING account_id AS "accountId", created_by_device AS "createdByDevice"`,
    [hash, now],
  )
  if (rows[0]) return rows[0]
  const found = await db.query<{ usedAt: Date | null }>(
    'SELECT used_at AS "usedAt" FROM link_tokens WHERE token_hash = $1',
    [hash],
  )
  const existing = found.rows[0]
  if (!existing) throw new CloudsyncError('UNAUTHENTICATED', 'Unknown link code')
  throw new CloudsyncError(
    'GONE',
    existing.usedAt
      ? 'This link code was already used; create a new one'
      : 'This link code expired; create a new one',
  )
}
