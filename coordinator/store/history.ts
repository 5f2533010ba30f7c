import type { ChangeKind } from './changes.ts'
import type { Db } from './db.ts'

/** One committed change that touched a path, with the content of the version it made. */
export interface PathEvent {
  seq: number
  kind: ChangeKind
  fileId: string
  version: number
  path: string
  fromPath: string | null
  deviceId: string
  committedAt: Date
  size: number
  hash: string
  /** When this version stopped being live content (replaced or deleted); null while live. */
  retiredAt: Date | null
  /** When the undelete window closed on it: its content is no longer kept. */
  prunedAt: Date | null
}

/**
 * The changes that wrote, deleted, or moved a file to or from `path`, newest first. Every
 * version stays in file_versions, so each event's content can be read (and restored)
 * until the undelete window prunes it (version-retention.ts).
 */
export async function pathHistory(
  db: Db,
  accountId: string,
  path: string,
  limit: number,
): Promise<PathEvent[]> {
  const { rows } = await db.query<PathEvent>(
    `SELECT c.seq, c.kind, c.file_id AS "fileId", c.version, c.path, c.from_path AS "fromPath",
       c.device_id AS "deviceId", c.committed_at AS "committedAt", v.size, v.hash,
       v.retired_at AS "retiredAt", v.pruned_at AS "prunedAt"
     FROM changes c JOIN file_versions v ON v.file_id = c.file_id AND v.version = c.version
     WHERE c.account_id = $1 AND (c.path = $2 OR c.from_path = $2)
     ORDER BY c.seq DESC LIMIT $3`,
    [accountId, path, limit],
  )
  return rows
}
