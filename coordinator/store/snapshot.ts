import type { Manifest } from '../../protocol/manifest.ts'
import type { Db } from './db.ts'

/** A file of the account as it was at a cursor. */
export interface SnapshotRow {
  fileId: string
  path: string
  version: number
  size: number
  hash: string
  /** Null when the file was deleted by then. */
  manifest: Manifest | null
  deviceId: string
  committedAt: Date
}

export interface SnapshotPage {
  files: SnapshotRow[]
  /** The last file id of this page when more follow. */
  next: string | undefined
}

const BEFORE_EVERY_ID = '00000000-0000-0000-0000-000000000000'

/**
 * Up to `limit` files, in file id order after `after`, whose last change up to cursor `at`
 * came after cursor `since`: live ones with their content, deleted ones (with `tombstones`)
 * as tombstones. Committed changes never change, so every page of one `at` describes the
 * same tree whatever commits meanwhile. The caller checks `since` <= `at` <= the head.
 */
export async function snapshotAt(
  db: Db,
  accountId: string,
  range: { since: number; at: number; tombstones: boolean },
  after: string | undefined,
  limit: number,
): Promise<SnapshotPage> {
  const { rows } = await db.query<SnapshotRow>(
    `SELECT last.file_id AS "fileId", last.path, last.version, v.size, v.hash,
       CASE WHEN last.kind <> 'deleted' THEN v.manifest END AS manifest,
       v.device_id AS "deviceId", last.committed_at AS "committedAt"
     FROM (
       SELECT DISTINCT ON (c.file_id) c.file_id, c.kind, c.path, c.version, c.committed_at
       FROM changes c
       WHERE c.account_id = $1 AND c.seq <= $2 AND c.seq > $3 AND c.file_id > $4
       ORDER BY c.file_id, c.seq DESC
     ) last
     JOIN file_versions v ON v.file_id = last.file_id AND v.version = last.version
     WHERE last.kind <> 'deleted' OR $6
     ORDER BY last.file_id LIMIT $5`,
    [accountId, range.at, range.since, after ?? BEFORE_EVERY_ID, limit + 1, range.tombstones],
  )
  const more = rows.length > limit
  const files = more ? rows.slice(0, limit) : rows
  return { files, next: more ? files.at(-1)!.fileId : undefined }
}
