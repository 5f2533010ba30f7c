import type { Manifest } from '../../protocol/manifest.ts'
import type { Db } from './db.ts'
import { json } from './db.ts'

export type ChangeKind = 'created' | 'modified' | 'deleted' | 'moved'

/** The version a conflict copy preserves. */
export interface ConflictOf {
  fileId: string
  version: number
  path: string
}

/** One entry of an account's change log, as stored. */
export interface LoggedChange {
  /** Per account, gapless, in commit order: a device's cursor is the last seq it applied. */
  seq: number
  kind: ChangeKind
  fileId: string
  path: string
  /** For `moved`: where the file was. */
  fromPath: string | null
  version: number
  size: number
  hash: string
  /** For `created` and `modified`: the content to fetch. */
  manifest: Manifest | null
  deviceId: string
  committedAt: Date
  conflictOf: ConflictOf | null
}

export interface NewChange {
  accountId: string
  kind: ChangeKind
  fileId: string
  path: string
  fromPath?: string
  version: number
  deviceId: string
  now: Date
  conflictOf?: ConflictOf
}

/**
 * Appends a change and returns its sequence number. Must run inside the transaction that
 * made the change and holds the account lock (lockAccount). The number comes from the
 * account row, not a sequence: a `bigserial` hands out numbers at insert time, so a
 * transaction that drew 7 may commit after one that drew 8, and a reader that saw 8
 * would never read 7. Under the row lock, numbers are drawn and committed in one order,
 * and a rollback returns its number.
 */
export async function appendChange(tx: Db, c: NewChange): Promise<number> {
  const { rows } = await tx.query<{ seq: number }>(
    'UPDATE accounts SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq AS seq',
    [c.accountId],
  )
  const seq = rows[0]!.seq
  await tx.query(
    `INSERT INTO changes (account_id, seq, kind, file_id, path, from_path, version, device_id,
       committed_at, conflict_of)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)`,
    [
      c.accountId,
      seq,
      c.kind,
      c.fileId,
      c.path,
      c.fromPath ?? null,
      c.version,
      c.deviceId,
      c.now,
      c.conflictOf ? json(c.conflictOf) : null,
    ],
  )
  return seq
}

export interface ChangePage {
  changes: LoggedChange[]
  /** The cursor to ask from next time: the last seq returned, or the one given. */
  cursor: number
  hasMore: boolean
}

/** Up to `limit` changes after `cursor`, oldest first. */
export async function changesAfter(
  db: Db,
  accountId: string,
  cursor: number,
  limit: number,
): Promise<ChangePage> {
  const { rows } = await db.query<LoggedChange>(
    `SELECT c.seq, c.kind, c.file_id AS "fileId", c.path, c.from_path AS "fromPath", c.version,
       v.size, v.hash,
       CASE WHEN c.kind <> 'deleted' THEN v.manifest END AS manifest,
       c.device_id AS "deviceId", c.committed_at AS "committedAt", c.conflict_of AS "conflictOf"
     FROM changes c JOIN file_versions v ON v.file_id = c.file_id AND v.version = c.version
     WHERE c.account_id = $1 AND c.seq > $2
     ORDER BY c.seq LIMIT $3`,
    [accountId, cursor, limit + 1],
  )
  const hasMore = rows.length > limit
  const changes = hasMore ? rows.slice(0, limit) : rows
  return { changes, cursor: changes.at(-1)?.seq ?? cursor, hasMore }
}
