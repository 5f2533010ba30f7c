import type { Manifest } from '../../protocol/manifest.ts'
import { accountDomain } from './accounts.ts'
import { MAY_REFERENCE, registerChunks } from './chunks.ts'
import type { CommitResult } from './commit.ts'
import type { Db } from './db.ts'
import { json } from './db.ts'

/** What an upload was based on. `fileId` is optional: without it, the path identifies the file. */
export interface UploadBase {
  fileId: string | null
  version: number
}

export type SessionState = 'open' | 'committed' | 'expired'

export interface UploadSession {
  id: string
  accountId: string
  deviceId: string
  /** Dedup domain of the manifest's chunks. */
  domain: string
  path: string
  /** Null for a new file. */
  base: UploadBase | null
  manifest: Manifest
  state: SessionState
  createdAt: Date
  expiresAt: Date
  /** Set once committed: what completing the session answers, every time. */
  result: CommitResult | null
}

interface SessionRow extends Omit<UploadSession, 'base'> {
  baseFileId: string | null
  baseVersion: number | null
}

const COLUMNS = `id, account_id AS "accountId", device_id AS "deviceId", domain, path,
  base_file_id AS "baseFileId", base_version AS "baseVersion", manifest, state,
  created_at AS "createdAt", expires_at AS "expiresAt", result`

function fromRow({ baseFileId, baseVersion, ...rest }: SessionRow): UploadSession {
  return {
    ...rest,
    base: baseVersion === null ? null : { fileId: baseFileId, version: baseVersion },
  }
}

/** A proof-of-possession challenge issued with a session (global dedup domain). */
export interface SessionChallenge {
  /** The first manifest index of the chunk. */
  index: number
  chunkId: string
  /** Lowercase hex. */
  nonce: string
  offset: number
  length: number
}

export interface NewSession {
  accountId: string
  deviceId: string
  domain: string
  path: string
  base: UploadBase | null
  manifest: Manifest
  now: Date
  ttlMs: number
  /** Challenges for chunks of the domain the account has not proved it holds. */
  challenges?: SessionChallenge[]
}

/** Opens an upload session and answers the indexes of the chunks the store lacks. */
export async function createSession(
  db: Db,
  s: NewSession,
): Promise<{ session: UploadSession; missing: number[] }> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<SessionRow>(
      `INSERT INTO upload_sessions (account_id, device_id, domain, path, base_file_id,
         base_version, manifest, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) RETURNING ${COLUMNS}`,
      [
        s.accountId,
        s.deviceId,
        s.domain,
        s.path,
        s.base?.fileId ?? null,
        s.base?.version ?? null,
        json(s.manifest),
        s.now,
        new Date(s.now.getTime() + s.ttlMs),
      ],
    )
    const session = fromRow(rows[0]!)
    const chunks = s.manifest.chunks
    await tx.query(
      `INSERT INTO session_chunks (session_id, idx, chunk_id, cipher_size)
       SELECT $1, t.idx, t.id, t.size FROM unnest($2::int[], $3::text[], $4::bigint[]) AS t(idx, id, size)`,
      [
        session.id,
        chunks.map((c) => c.index),
        chunks.map((c) => c.id),
        chunks.map((c) => c.cipherSize),
      ],
    )
    const challenges = s.challenges ?? []
    if (challenges.length > 0) {
      await tx.query(
        `INSERT INTO session_challenges (session_id, idx, chunk_id, nonce, range_offset, range_length)
         SELECT $1, t.* FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[], $6::int[])
           AS t(idx, chunk_id, nonce, range_offset, range_length)`,
        [
          session.id,
          challenges.map((c) => c.index),
          challenges.map((c) => c.chunkId),
          challenges.map((c) => c.nonce),
          challenges.map((c) => c.offset),
          challenges.map((c) => c.length),
        ],
      )
    }
    return { session, missing: await missingChunks(tx, session) }
  })
}

export async function getSession(
  db: Db,
  accountId: string,
  sessionId: string,
): Promise<UploadSession | undefined> {
  const { rows } = await db.query<SessionRow>(
    `SELECT ${COLUMNS} FROM upload_sessions WHERE id = $1 AND account_id = $2`,
    [sessionId, accountId],
  )
  return rows[0] && fromRow(rows[0])
}

/** Locks the session row for the rest of the transaction (completion runs once). */
export async function lockSession(
  tx: Db,
  accountId: string,
  sessionId: string,
): Promise<UploadSession | undefined> {
  const { rows } = await tx.query<SessionRow>(
    `SELECT ${COLUMNS} FROM upload_sessions WHERE id = $1 AND account_id = $2 FOR UPDATE`,
    [sessionId, accountId],
  )
  return rows[0] && fromRow(rows[0])
}

type SessionKey = Pick<UploadSession, 'id' | 'accountId' | 'domain'>

/** Indexes of the session's chunks that are not (or no longer) in the store for this account. */
export async function missingChunks(db: Db, session: SessionKey): Promise<number[]> {
  const { rows } = await db.query<{ idx: number }>(
    `SELECT sc.idx FROM session_chunks sc
     WHERE sc.session_id = $3 AND NOT EXISTS (
       SELECT 1 FROM chunks c WHERE c.domain = $1 AND c.id = sc.chunk_id AND ${MAY_REFERENCE})
     ORDER BY sc.idx`,
    [session.domain, session.accountId, session.id],
  )
  return rows.map((r) => r.idx)
}

/**
 * The session's challenges still to answer: those whose chunk is still indexed in the
 * domain and which the account has not (meanwhile) gained access to. A challenged chunk
 * collected since reads as plain missing again: upload it.
 */
export async function openChallenges(db: Db, session: SessionKey): Promise<SessionChallenge[]> {
  // Only shared domains issue challenges: spare every other upload the query.
  if (session.domain === accountDomain(session.accountId)) return []
  const { rows } = await db.query<SessionChallenge>(
    `SELECT ch.idx AS index, ch.chunk_id AS "chunkId", ch.nonce, ch.range_offset AS offset,
       ch.range_length AS length
     FROM session_challenges ch JOIN chunks c ON c.domain = $1 AND c.id = ch.chunk_id
     WHERE ch.session_id = $3 AND NOT ${MAY_REFERENCE}
     ORDER BY ch.idx`,
    [session.domain, session.accountId, session.id],
  )
  return rows
}

/**
 * Records that chunks of the session are now in the blob store (the caller checked), and
 * answers what is still missing. Ids the session does not name are ignored, so a client
 * cannot register arbitrary chunks through it.
 */
export async function markChunksPresent(
  db: Db,
  session: SessionKey,
  chunkIds: string[],
  now: Date,
): Promise<number[]> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; cipherSize: number }>(
      `SELECT DISTINCT chunk_id AS id, cipher_size AS "cipherSize" FROM session_chunks
       WHERE session_id = $1 AND chunk_id = ANY($2::text[])`,
      [session.id, chunkIds],
    )
    await registerChunks(tx, session.domain, session.accountId, rows, now)
    return missingChunks(tx, session)
  })
}

// Expiry and sweeping belong to the collector; re-exported where sessions are looked for.
export { type ExpiredSessions, expireSessions } from './session-expiry.ts'
