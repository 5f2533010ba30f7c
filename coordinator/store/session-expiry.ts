import type { StoredChunkRef } from './chunks.ts'
import type { Db } from './db.ts'

/**
 * The collector's view of upload sessions: open ones past their expiry become expired
 * (their pending notices end), and expired ones are swept of bytes their device may have
 * PUT without the index ever hearing of them.
 */

export interface ExpiredSession {
  id: string
  accountId: string
}

export interface ExpiredSessions {
  sessionIds: string[]
  sessions: ExpiredSession[]
  /** Chunks uploaded for them that nothing references and no open upload names. */
  orphanChunks: StoredChunkRef[]
}

/**
 * Marks up to `limit` open sessions past their expiry as expired, oldest first. Sessions
 * another transaction holds (a commit in progress, another collector) are skipped, and
 * each expired session is answered to exactly one caller.
 */
export async function expireSessions(db: Db, now: Date, limit = 1000): Promise<ExpiredSessions> {
  return db.transaction(async (tx) => {
    const expired = await tx.query<ExpiredSession>(
      // A materialized CTE runs the pick once: as an IN subquery the planner may rescan
      // it per row, and LIMIT then bounds nothing.
      `WITH picked AS MATERIALIZED (
         SELECT id FROM upload_sessions WHERE state = 'open' AND expires_at <= $1
         ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE upload_sessions s SET state = 'expired' FROM picked
       WHERE s.id = picked.id AND s.state = 'open' RETURNING s.id, s.account_id AS "accountId"`,
      [now, limit],
    )
    const sessionIds = expired.rows.map((r) => r.id)
    if (sessionIds.length === 0) return { sessionIds, sessions: [], orphanChunks: [] }
    const orphans = await tx.query<StoredChunkRef>(
      `SELECT DISTINCT c.domain, c.id, c.owner FROM upload_sessions s
       JOIN session_chunks sc ON sc.session_id = s.id
       JOIN chunks c ON c.domain = s.domain AND c.id = sc.chunk_id
       WHERE s.id = ANY($1::uuid[]) AND c.refcount = 0 AND NOT EXISTS (
         SELECT 1 FROM session_chunks o JOIN upload_sessions os ON os.id = o.session_id
         WHERE o.chunk_id = c.id AND os.domain = c.domain AND os.state = 'open')`,
      [sessionIds],
    )
    return { sessionIds, sessions: expired.rows, orphanChunks: orphans.rows }
  })
}

export interface UnsweptSession {
  sessionId: string
  /** Whose blob keys the session's PUTs went to. */
  accountId: string
  chunkIds: string[]
}

/**
 * Expired sessions whose unindexed bytes have not been swept yet, with those chunk ids:
 * ones no chunk row backed by the account's key indexes, which the session's device may have PUT
 * without ever registering (it never called status or complete). Up to `limit` sessions,
 * stopping early once `maxChunks` ids are gathered (at least one session is answered).
 */
export async function unsweptSessions(
  db: Db,
  limit: number,
  maxChunks: number,
): Promise<UnsweptSession[]> {
  const { rows } = await db.query<UnsweptSession>(
    `SELECT s.id AS "sessionId", s.account_id AS "accountId", COALESCE(array_agg(DISTINCT
       sc.chunk_id) FILTER (WHERE sc.chunk_id IS NOT NULL), '{}') AS "chunkIds"
     FROM (SELECT id, account_id, expires_at FROM upload_sessions
           WHERE state = 'expired' AND swept_at IS NULL ORDER BY expires_at LIMIT $1) s
     LEFT JOIN session_chunks sc ON sc.session_id = s.id
       AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = sc.chunk_id AND c.owner = s.account_id)
     GROUP BY s.id, s.account_id, s.expires_at ORDER BY s.expires_at`,
    [limit],
  )
  const out: UnsweptSession[] = []
  let total = 0
  for (const row of rows) {
    if (out.length > 0 && total + row.chunkIds.length > maxChunks) break
    out.push(row)
    total += row.chunkIds.length
  }
  return out
}

export async function markSwept(db: Db, sessionId: string, now: Date): Promise<void> {
  await db.query('UPDATE upload_sessions SET swept_at = $2 WHERE id = $1', [sessionId, now])
}
