/**
 * Operator actions on accounts. The coordinator has no user login (docs/DESIGN.md "Scope"): an
 * operator creates an account and hands its first device the printed link token.
 */
import { createAccount as insertAccount } from '../store/accounts.ts'
import type { Db } from '../store/index.ts'
import { createLinkToken } from '../store/link-tokens.ts'

export interface CreatedAccount {
  accountId: string
  /** Single use: links the account's first device (`POST /devices`). */
  token: string
  expiresAt: Date
}

export interface CreateAccountOptions {
  linkTokenTtlMs?: number
  now?: Date
  /** Where the token line goes; default stdout. Pass `null` to print nothing. */
  print?: ((line: string) => void) | null
}

export async function createAccount(
  db: Db,
  options: CreateAccountOptions = {},
): Promise<CreatedAccount> {
  const now = options.now ?? new Date()
  const created = await db.transaction(async (tx) => {
    const account = await insertAccount(tx, now)
    const link = await createLinkToken(tx, {
      accountId: account.id,
      createdByDevice: null,
      now,
      ttlMs: options.linkTokenTtlMs ?? 24 * 3600_000,
    })
    return { accountId: account.id, ...link }
  })
  const print =
    options.print === undefined ? (l: string) => process.stdout.write(`${l}\n`) : options.print
  print?.(
    `account ${created.accountId}: link token ${created.token} (single use, expires ${created.expiresAt.toISOString()})`,
  )
  return created
}
