import { CloudsyncError } from '../../protocol/errors.ts'
import type { Db } from './db.ts'

export interface Account {
  id: string
  createdAt: Date
  /** The newest change sequence number: a new device may start reading from here. */
  lastSeq: number
}

const COLUMNS = `id, created_at AS "createdAt", last_seq AS "lastSeq"`

export async function createAccount(db: Db, now: Date): Promise<Account> {
  const { rows } = await db.query<Account>(
    `INSERT INTO accounts (created_at) VALUES ($1) RETURNING ${COLUMNS}`,
    [now],
  )
  return rows[0]!
}

export async function getAccount(db: Db, id: string): Promise<Account | undefined> {
  const { rows } = await db.query<Account>(`SELECT ${COLUMNS} FROM accounts WHERE id = $1`, [id])
  return rows[0]
}

/**
 * Takes the account's row lock for the rest of the transaction. Every write to an
 * account's files and change log takes it first, so those writes run one at a time per
 * account, in the order their sequence numbers say (see changes.ts). NO KEY UPDATE, not
 * UPDATE: it excludes the other writers all the same, but lets foreign-key checks of rows
 * that reference the account (a new upload session, a device) through instead of queueing
 * them behind a commit's fsync. Accounts are never deleted, so nothing relies on that wait.
 */
export async function lockAccount(tx: Db, id: string): Promise<void> {
  const { rows } = await tx.query('SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE', [id])
  if (rows.length === 0) throw new CloudsyncError('NOT_FOUND', `No account ${id}`)
}

/** The dedup domain of an account's own chunks. */
export function accountDomain(accountId: string): string {
  return `account:${accountId}`
}

/** The operator's cross-account dedup domain (docs/DESIGN.md "Chunks, dedup, encryption"). */
export const GLOBAL_DOMAIN = 'global'
