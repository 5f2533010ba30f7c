import { CloudsyncError } from '../../protocol/errors.ts'
import { lockChunkBytes } from './chunk-bytes.ts'
import type { Db } from './db.ts'

/**
 * The dedup index. A chunks row means the chunk's bytes are in the blob store;
 * `refcount` is the number of file versions whose manifest names it (counted once per
 * version). History is kept, so committing only ever adds references; releaseChunkRefs
 * is for whoever prunes history one day. A chunk nobody references carries `zero_since`,
 * and the collector removes it once that is older than a grace period.
 */

export interface ChunkRef {
  domain: string
  id: string
}

/** A chunk row and where its bytes are. */
export interface StoredChunkRef extends ChunkRef {
  /** The account whose blob key holds the bytes (null: a bare key, see migration 004). */
  owner: string | null
}

export interface NewChunk {
  id: string
  cipherSize: number
}

/**
 * SQL condition: the account may reference chunk row `c`: one of its own domain, or of a
 * shared domain once it has proved it holds the bytes (chunk_access). $1 is the domain,
 * $2 the account id.
 */
export const MAY_REFERENCE = `($1 = 'account:' || $2::text OR EXISTS (
  SELECT 1 FROM chunk_access a WHERE a.domain = c.domain AND a.chunk_id = c.id AND a.account_id = $2::uuid))`

/**
 * Of `ids`, the chunks indexed in a shared domain that the account has not proved it
 * holds: the ones a proof-of-possession challenge may grant. Empty for an account domain.
 */
export async function unprovenChunks(
  db: Db,
  domain: string,
  accountId: string,
  ids: string[],
): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; cipherSize: number }>(
    `SELECT c.id, c.cipher_size AS "cipherSize" FROM chunks c
     WHERE c.domain = $1 AND c.id = ANY($3::text[]) AND NOT ${MAY_REFERENCE}`,
    [domain, accountId, ids],
  )
  return new Map(rows.map((r) => [r.id, r.cipherSize]))
}

/**
 * Records that the account proved it holds the chunks (valid possession proofs). Meant to
 * run in the committing transaction after the account's lock: it locks every chunk of the
 * manifest (`manifestIds`) in id order, exactly as addChunkRefs will next, so commits
 * sharing chunks of a global domain cannot deadlock on a lock upgrade. A chunk collected
 * meanwhile gets no row (and the commit then reports it missing).
 */
export async function grantChunkAccess(
  tx: Db,
  domain: string,
  accountId: string,
  provenIds: string[],
  manifestIds: string[],
): Promise<void> {
  if (provenIds.length === 0) return
  await tx.query(
    'SELECT id FROM chunks WHERE domain = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE',
    [domain, [...new Set(manifestIds)].sort()],
  )
  await tx.query(
    `INSERT INTO chunk_access (domain, chunk_id, account_id)
     SELECT c.domain, c.id, $3::uuid FROM chunks c WHERE c.domain = $1 AND c.id = ANY($2::text[])
     ON CONFLICT DO NOTHING`,
    [domain, provenIds, accountId],
  )
}

/** Of `ids`, the chunks present in the domain that the account may reference. */
export async function findChunks(
  db: Db,
  domain: string,
  accountId: string,
  ids: string[],
): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT c.id FROM chunks c WHERE c.domain = $1 AND c.id = ANY($3::text[]) AND ${MAY_REFERENCE}`,
    [domain, accountId, ids],
  )
  return new Set(rows.map((r) => r.id))
}

/**
 * Records chunks whose bytes are now in the blob store (checked by the caller), and that
 * `accountId` holds them. A new chunk starts unreferenced: until a commit names it, it is
 * garbage after the grace period. Registration holds the ids' byte locks (shared) against
 * the collector: a caller that checked the blob store inside the same transaction, after
 * taking those locks, cannot register bytes the collector deleted meanwhile.
 */
export async function registerChunks(
  db: Db,
  domain: string,
  accountId: string,
  chunks: NewChunk[],
  now: Date,
): Promise<void> {
  if (chunks.length === 0) return
  const ids = chunks.map((c) => c.id)
  await db.transaction(async (tx) => {
    await lockChunkBytes(tx, ids, 'shared')
    await insertChunks(tx, domain, accountId, chunks, now)
  })
}

/**
 * registerChunks for a caller already holding the ids' byte locks (shared) in `tx`: one
 * statement, rows and (in a shared domain) the account's access together.
 */
export async function insertChunks(
  tx: Db,
  domain: string,
  accountId: string,
  chunks: NewChunk[],
  now: Date,
): Promise<void> {
  if (chunks.length === 0) return
  const ids = chunks.map((c) => c.id)
  // The bytes were found under the account's own key, so the account uploaded them: in a
  // shared domain that grants access even when another account's row came first.
  await tx.query(
    `WITH c AS (INSERT INTO chunks (domain, id, cipher_size, refcount, zero_since, created_at,
         owner)
       SELECT $1, t.id, t.size, 0, $4, $4, $5::uuid
       FROM unnest($2::text[], $3::bigint[]) AS t(id, size)
       ON CONFLICT (domain, id) DO NOTHING)
     INSERT INTO chunk_access (domain, chunk_id, account_id)
     SELECT $1, id, $5::uuid FROM unnest($2::text[]) AS t(id) WHERE $1 <> 'account:' || $5::text
     ON CONFLICT DO NOTHING`,
    [domain, ids, chunks.map((c) => c.cipherSize), now, accountId],
  )
}

/**
 * Adds one reference to each chunk (a new file version names them). Rows are locked in id
 * order so two transactions sharing chunks of a global domain cannot deadlock. A chunk
 * collected since the upload began is reported as INCOMPLETE_UPLOAD, like any missing one.
 */
export async function addChunkRefs(tx: Db, domain: string, ids: string[]): Promise<void> {
  const unique = [...new Set(ids)].sort()
  if (unique.length === 0) return
  const locked = await tx.query<{ id: string }>(
    'SELECT id FROM chunks WHERE domain = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE',
    [domain, unique],
  )
  if (locked.rows.length !== unique.length) {
    const found = new Set(locked.rows.map((r) => r.id))
    const missing = unique.filter((id) => !found.has(id))
    throw new CloudsyncError(
      'INCOMPLETE_UPLOAD',
      `${missing.length} chunk(s) are no longer stored`,
      { missingChunkIds: missing },
    )
  }
  await tx.query(
    `UPDATE chunks SET refcount = refcount + 1, zero_since = NULL
     WHERE domain = $1 AND id = ANY($2::text[])`,
    [domain, unique],
  )
}

/** Drops one reference from each chunk (a file version stopped naming them). */
export async function releaseChunkRefs(
  tx: Db,
  domain: string,
  ids: string[],
  now: Date,
): Promise<void> {
  const unique = [...new Set(ids)].sort()
  if (unique.length === 0) return
  await tx.query(
    'SELECT id FROM chunks WHERE domain = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE',
    [domain, unique],
  )
  await tx.query(
    `UPDATE chunks SET refcount = refcount - 1,
       zero_since = CASE WHEN refcount = 1 THEN $3::timestamptz ELSE NULL END
     WHERE domain = $1 AND id = ANY($2::text[])`,
    [domain, unique, now],
  )
}

/** Whose blob key holds each chunk's bytes (see ChunkRef.owner); absent ids are not stored. */
export async function chunkOwners(
  db: Db,
  domain: string,
  ids: string[],
): Promise<Map<string, string | null>> {
  const { rows } = await db.query<{ id: string; owner: string | null }>(
    'SELECT id, owner FROM chunks WHERE domain = $1 AND id = ANY($2::text[])',
    [domain, ids],
  )
  return new Map(rows.map((r) => [r.id, r.owner]))
}

export interface ChunkState extends ChunkRef {
  cipherSize: number
  refcount: number
  zeroSince: Date | null
}

export async function getChunk(
  db: Db,
  domain: string,
  id: string,
): Promise<ChunkState | undefined> {
  const { rows } = await db.query<ChunkState>(
    `SELECT domain, id, cipher_size AS "cipherSize", refcount, zero_since AS "zeroSince"
     FROM chunks WHERE domain = $1 AND id = $2`,
    [domain, id],
  )
  return rows[0]
}

// Not named by any file version for longer than the grace period, and not part of an
// upload still in progress (its session may commit any moment).
const COLLECTABLE = `c.refcount = 0 AND c.zero_since <= $1 AND NOT EXISTS (
  SELECT 1 FROM session_chunks sc JOIN upload_sessions s ON s.id = sc.session_id
  WHERE sc.chunk_id = c.id AND s.domain = c.domain AND s.state = 'open')`

/** Chunks the collector may delete: unreferenced since before `cutoff` (now - grace). */
export async function collectableChunks(
  db: Db,
  cutoff: Date,
  limit: number,
): Promise<StoredChunkRef[]> {
  const { rows } = await db.query<StoredChunkRef>(
    `SELECT c.domain, c.id, c.owner FROM chunks c WHERE ${COLLECTABLE}
     ORDER BY c.zero_since LIMIT $2`,
    [cutoff, limit],
  )
  return rows
}

/**
 * Deletes a chunk's row if it is still collectable, and says whether it did; only then may
 * the caller delete the bytes. A commit that referenced the chunk meanwhile holds or has
 * changed the row, and the re-checked condition keeps it.
 */
export async function deleteCollectableChunk(
  db: Db,
  ref: ChunkRef,
  cutoff: Date,
): Promise<boolean> {
  const { rows } = await db.query(
    `DELETE FROM chunks c WHERE c.domain = $2 AND c.id = $3 AND ${COLLECTABLE} RETURNING c.id`,
    [cutoff, ref.domain, ref.id],
  )
  return rows.length > 0
}
