import type { Manifest } from '../../protocol/manifest.ts'
import { lockAccount } from './accounts.ts'
import { releaseChunkRefs } from './chunks.ts'
import type { Db } from './db.ts'

/**
 * The undelete window (docs/DESIGN.md "Version retention"): a version retired (replaced,
 * or its file deleted) before `cutoff` stops being kept. Its row stays for the change log
 * and the history, marked pruned; its chunk references go, so the collector takes the
 * chunks once no other version names them. The live version of a file is never retired
 * (migration 009 keeps retired_at), and each prune checks that again under the account's
 * lock, the one every commit holds.
 */
export async function pruneRetiredVersions(
  db: Db,
  cutoff: Date,
  now: Date,
  limit: number,
): Promise<number> {
  const { rows } = await db.query<{ fileId: string; version: number; accountId: string }>(
    `SELECT v.file_id AS "fileId", v.version, f.account_id AS "accountId"
     FROM file_versions v JOIN files f ON f.id = v.file_id
     WHERE v.retired_at <= $1 AND v.pruned_at IS NULL
     ORDER BY v.retired_at LIMIT $2`,
    [cutoff, limit],
  )
  let pruned = 0
  for (const row of rows) if (await pruneVersion(db, row, cutoff, now)) pruned++
  return pruned
}

async function pruneVersion(
  db: Db,
  ref: { fileId: string; version: number; accountId: string },
  cutoff: Date,
  now: Date,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockAccount(tx, ref.accountId)
    const { rows } = await tx.query<{ domain: string; manifest: Manifest }>(
      `SELECT v.domain, v.manifest FROM file_versions v JOIN files f ON f.id = v.file_id
       WHERE v.file_id = $1 AND v.version = $2 AND v.retired_at <= $3 AND v.pruned_at IS NULL
         AND (v.version <> f.version OR f.deleted)`,
      [ref.fileId, ref.version, cutoff],
    )
    const version = rows[0]
    if (!version) return false
    await tx.query('UPDATE file_versions SET pruned_at = $3 WHERE file_id = $1 AND version = $2', [
      ref.fileId,
      ref.version,
      now,
    ])
    const ids = version.manifest.chunks.map((c) => c.id)
    await releaseChunkRefs(tx, version.domain, ids, now)
    return true
  })
}
