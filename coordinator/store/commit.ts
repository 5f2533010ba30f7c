import { randomUUID } from 'node:crypto'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { Change } from './changes.ts'
import type { Db } from './db.ts'
import { json } from './db.ts'
import { type ConflictCopy, preserveConflictCopy } from './file-writes.ts'
import { type FileRecord, getFileByPath } from './files.ts'
import { lockSessionForCommit, type UploadBase, type UploadSession } from './sessions.ts'

export interface CommitUpload {
  accountId: string
  deviceId: string
  sessionId: string
  now: Date
}

/** What completing an upload answers; stored on the session and answered again on retry. */
export interface CommitResult {
  fileId: string
  path: string
  version: number
  kind: 'created' | 'modified'
  seq: number
  /** The version this upload displaced without having seen it, kept under a new name. */
  conflictCopy: ConflictCopy | null
}

/**
 * Commits an upload session as the new version at its path, in one transaction
 * (DESIGN.md "Conflicts"): the last write wins the path; a current version the upload
 * was not based on is first kept as a conflict copy; an upload based on a file deleted
 * meanwhile re-creates it (an edit beats a concurrent delete). Completing a committed
 * session again answers the stored result and writes nothing.
 */
export async function commitUpload(db: Db, c: CommitUpload): Promise<CommitResult> {
  return (await commitSession(db, c)).result
}

/**
 * commitUpload, also answering the changes it logged (oldest first; none when the session
 * was committed before), so the caller can publish them without reading them back.
 */
export async function commitSession(
  db: Db,
  c: CommitUpload,
): Promise<{ result: CommitResult; changes: Change[] }> {
  return db.transaction(async (tx) => {
    const locked = await lockSessionForCommit(tx, c.accountId, c.sessionId)
    if (!locked) throw new CloudsyncError('NOT_FOUND', `No upload session ${c.sessionId}`)
    const { session, missing } = locked
    if (session.deviceId !== c.deviceId) {
      throw new CloudsyncError('FORBIDDEN', 'The upload session belongs to another device')
    }
    if (session.result) return { result: session.result, changes: [] }
    if (session.state !== 'open' || session.expiresAt <= c.now) {
      throw new CloudsyncError('GONE', 'The upload session expired; start a new one')
    }
    if (missing.length > 0) {
      throw new CloudsyncError('INCOMPLETE_UPLOAD', `${missing.length} chunk(s) are missing`, {
        missing,
      })
    }

    // A statement of its own, after the account's lock: it must see the latest commit.
    const current = await getFileByPath(tx, c.accountId, session.path)
    const changes: Change[] = []
    let conflictCopy: ConflictCopy | null = null
    if (current && displaces(session, current)) {
      conflictCopy = await preserveConflictCopy(tx, current, c.deviceId, c.now)
      changes.push(copyChange(conflictCopy, current, c))
    }
    const place = await placeUpload(tx, session, current)
    const seq = await writeUpload(tx, session, place, conflictCopy, c.now)
    const { fileId, version, kind } = place
    const result: CommitResult = { fileId, path: session.path, version, kind, seq, conflictCopy }
    changes.push({
      seq,
      kind,
      fileId,
      path: session.path,
      fromPath: null,
      version,
      size: session.manifest.size,
      hash: session.manifest.hash,
      manifest: session.manifest,
      deviceId: c.deviceId,
      committedAt: c.now,
      conflictOf: null,
    })
    return { result, changes }
  })
}

/** The change preserveConflictCopy logged, as changesAfter would read it. */
function copyChange(copy: ConflictCopy, displaced: FileRecord, c: CommitUpload): Change {
  return {
    seq: copy.seq,
    kind: 'created',
    fileId: copy.fileId,
    path: copy.path,
    fromPath: null,
    version: copy.version,
    size: displaced.size,
    hash: displaced.hash,
    manifest: displaced.manifest,
    deviceId: c.deviceId,
    committedAt: c.now,
    conflictOf: { fileId: displaced.id, version: displaced.version, path: displaced.path },
  }
}

/**
 * Whether writing the upload would replace content its writer never saw. Identical
 * content is not worth a copy: nothing would be lost.
 */
function displaces(session: UploadSession, current: FileRecord): boolean {
  if (isBasedOn(session.base, current)) return false
  return current.hash !== session.manifest.hash || current.size !== session.manifest.size
}

function isBasedOn(base: UploadBase | null, current: FileRecord): boolean {
  if (!base) return false
  return base.version === current.version && (base.fileId === null || base.fileId === current.id)
}

type Placed = Pick<CommitResult, 'fileId' | 'version' | 'kind'> & {
  /** How the files row changes: an update of the current or a revived file, or a new row. */
  write: 'update' | 'revive' | 'insert'
}

/** Where the upload's version goes: the current file, a revived one, or a new one. */
async function placeUpload(
  tx: Db,
  s: UploadSession,
  current: FileRecord | undefined,
): Promise<Placed> {
  if (current) {
    return { fileId: current.id, version: current.version + 1, kind: 'modified', write: 'update' }
  }
  const revived = await deletedBase(tx, s)
  if (revived) {
    // Devices that applied the delete have no file there: to them it is created again.
    return { fileId: revived.id, version: revived.version + 1, kind: 'created', write: 'revive' }
  }
  // The id is made here, so the whole write below is one statement.
  return { fileId: randomUUID(), version: 1, kind: 'created', write: 'insert' }
}

const FILE_WRITES: Record<Placed['write'], string> = {
  update: 'UPDATE files SET version = $6, updated_at = $5 WHERE id = $4',
  revive: `UPDATE files SET path = $3, version = $6, deleted = false, updated_at = $5
    WHERE id = $4`,
  insert: `INSERT INTO files (id, account_id, path, version, updated_at)
    VALUES ($4, $1, $3, $6, $5)`,
}

/**
 * Writes the session's manifest as the file at its path, logs it and marks the session
 * committed, in one statement (data-modifying CTEs; foreign keys are checked at its end),
 * and answers the change's seq. Chunks gain a reference under row locks taken in id order,
 * so commits sharing chunks of a global domain cannot deadlock; a chunk collected since the
 * upload began fails the commit as INCOMPLETE_UPLOAD, like any missing one.
 */
async function writeUpload(
  tx: Db,
  s: UploadSession,
  p: Placed,
  conflictCopy: ConflictCopy | null,
  now: Date,
): Promise<number> {
  const ids = [...new Set(s.manifest.chunks.map((c) => c.id))].sort()
  const { manifest } = s
  // Completing again answers this; the seq is the one the statement draws.
  const result = { fileId: p.fileId, path: s.path, version: p.version, kind: p.kind, conflictCopy }
  const { rows } = await tx.query<{ seq: number; refs: string[] }>(
    `WITH f AS (${FILE_WRITES[p.write]}),
     v AS (INSERT INTO file_versions (file_id, version, domain, size, hash, manifest, device_id,
         created_at)
       VALUES ($4, $6, $7, $8, $9, $10::jsonb, $2, $5)),
     locked AS MATERIALIZED (SELECT id FROM chunks WHERE domain = $7 AND id = ANY($11::text[])
       ORDER BY id FOR UPDATE),
     refs AS (UPDATE chunks c SET refcount = c.refcount + 1, zero_since = NULL FROM locked l
       WHERE c.domain = $7 AND c.id = l.id RETURNING c.id),
     a AS (UPDATE accounts SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq AS seq),
     ch AS (INSERT INTO changes (account_id, seq, kind, file_id, path, version, device_id,
         committed_at)
       SELECT $1, a.seq, $12, $4, $3, $6, $2, $5 FROM a),
     s AS (UPDATE upload_sessions SET state = 'committed',
         result = jsonb_set($13::jsonb, '{seq}', to_jsonb((SELECT seq FROM a)))
       WHERE id = $14)
     SELECT (SELECT seq FROM a) AS seq, ARRAY(SELECT id FROM refs) AS refs`,
    [
      s.accountId,
      s.deviceId,
      s.path,
      p.fileId,
      now,
      p.version,
      s.domain,
      manifest.size,
      manifest.hash,
      json(manifest),
      ids,
      p.kind,
      json({ ...result, seq: 0 }),
      s.id,
    ],
  )
  const row = rows[0]!
  if (row.refs.length !== ids.length) {
    const found = new Set(row.refs)
    const missing = ids.filter((id) => !found.has(id))
    throw new CloudsyncError(
      'INCOMPLETE_UPLOAD',
      `${missing.length} chunk(s) are no longer stored`,
      { missingChunkIds: missing },
    )
  }
  return row.seq
}

/**
 * The deleted file an upload with a base was editing, to bring back under its id. With a
 * base file id, that file if it is deleted (a file moved elsewhere and still live is not
 * revived: the upload becomes a new file and the moved one keeps its content). Without
 * one, the file most recently deleted at the path.
 */
async function deletedBase(
  tx: Db,
  s: UploadSession,
): Promise<{ id: string; version: number } | undefined> {
  if (!s.base) return undefined
  const { rows } = s.base.fileId
    ? await tx.query<{ id: string; version: number }>(
        'SELECT id, version FROM files WHERE id = $1 AND account_id = $2 AND deleted',
        [s.base.fileId, s.accountId],
      )
    : await tx.query<{ id: string; version: number }>(
        `SELECT id, version FROM files WHERE account_id = $1 AND path = $2 AND deleted
         ORDER BY updated_at DESC LIMIT 1`,
        [s.accountId, s.path],
      )
  return rows[0]
}
