import type { Db } from './db.ts'

/**
 * Blob keys are an uploading account's key for a chunk id (blobKeyOf): one stored object
 * may back chunk rows of several domains, and a device may have PUT it without any row
 * yet. These helpers decide when bytes may go, and serialize that decision against
 * registration. Locks are by chunk id, which covers every key of that id.
 */

/** Advisory-lock namespace of chunk bytes ('cs' 'by'), apart from other advisory locks. */
const BYTES_LOCK_SPACE = 0x6373_6279
/**
 * Locks are per bucket of ids, not per id: a 65,536-chunk upload must not take 65,536
 * entries of Postgres's shared lock table. 64 buckets keep the collector's brief exclusive
 * hold from stalling more than a sliver of registrations.
 */
const BYTES_LOCK_BUCKETS = 64

/** An id's bucket; byteBarrierSql computes the same in SQL. */
function bucketOf(id: string): number {
  return Number.parseInt(id.slice(0, 2), 16) % BYTES_LOCK_BUCKETS
}

/**
 * Takes the byte locks of `ids` for the rest of the transaction: `shared` to register
 * bytes (after which the caller may check the blob store and trust the answer until
 * commit), `exclusive` to delete them. Buckets are taken in ascending order, so holders of
 * several never deadlock.
 */
export async function lockChunkBytes(
  tx: Db,
  ids: readonly string[],
  mode: 'shared' | 'exclusive',
): Promise<void> {
  if (ids.length === 0) return
  await tx.query(`SELECT count(*) FROM (${byteLocksSql(mode, 1)}) AS l`, byteLockParams(ids))
}

/**
 * SQL taking the byte locks, for a statement that does more in the same round trip; its
 * parameters are byteLockParams(ids) at `$first` and `$first + 1`.
 */
export function byteLocksSql(mode: 'shared' | 'exclusive', first: number): string {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock'
  // unnest scans the (sorted) array in order, so the locks are taken in that order.
  return `SELECT ${fn}($${first}::int, b) FROM unnest($${first + 1}::int[]) AS t(b)`
}

export function byteLockParams(ids: readonly string[]): [number, number[]] {
  return [BYTES_LOCK_SPACE, [...new Set(ids.map(bucketOf))].sort((a, b) => a - b)]
}

/**
 * SQL passing the shared byte locks of the chunk ids that `idsSql` selects, in one
 * statement that runs alone (its locks end with it): a barrier, not a hold. Parameters:
 * byteBarrierParams() at `$first`.
 *
 * Why a barrier is enough for the chunks of an open upload session: the collector decides
 * to delete bytes and deletes them under the id's exclusive lock, and never decides so for
 * an id an open session names (bytesInUse). Once past the barrier, a deletion decided
 * before the session existed has finished, and one decided later sees the session. Bytes
 * the blob store shows after the barrier therefore stay while the session is open, and
 * the commit that registers them checks, under the session's lock, that it still is.
 */
export function byteBarrierSql(idsSql: string, first: number): string {
  const bucket = `get_byte(decode(substr(i.id, 1, 2), 'hex'), 0) % ${BYTES_LOCK_BUCKETS}`
  return `SELECT count(pg_advisory_xact_lock_shared($${first}::int, b.b)) FROM (
    SELECT DISTINCT ${bucket} AS b FROM (${idsSql}) AS i(id) ORDER BY 1) AS b`
}

export function byteBarrierParams(): [number] {
  return [BYTES_LOCK_SPACE]
}

/**
 * Whether the bytes `owner` stored for chunk `id` may still be needed: a chunk row of ANY
 * domain is backed by them, or an open upload of that account (any domain) names the id:
 * its device may have PUT them and will register them at complete.
 */
export async function bytesInUse(db: Db, owner: string | null, id: string): Promise<boolean> {
  const { rows } = await db.query<{ used: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM chunks WHERE id = $1 AND owner IS NOT DISTINCT FROM $2::uuid)
     OR EXISTS (SELECT 1 FROM session_chunks sc JOIN upload_sessions s ON s.id = sc.session_id
       WHERE sc.chunk_id = $1 AND s.state = 'open' AND s.account_id = $2::uuid) AS used`,
    [id, owner],
  )
  return rows[0]!.used
}
