import { CloudsyncError } from '../../protocol/errors.ts'
import { lockAccount } from './accounts.ts'
import { appendChange } from './changes.ts'
import type { Db } from './db.ts'
import { json } from './db.ts'
import {
  type ConflictCopy,
  insertFile,
  insertVersion,
  preserveConflictCopy,
} from './file-writes.ts'
import { type FileRecord, getFileByPath } from './files.ts'
import { lockSession, missingChunks, type UploadBase, type UploadSession } from './sessions.ts'

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
  return db.transaction(async (tx) => {
    await lockAccount(tx, c.accountId)
    const session = await lockSession(tx, c.accountId, c.sessionId)
    if (!session) throw new CloudsyncError('NOT_FOUND', `No upload session ${c.sessionId}`)
    if (session.deviceId !== c.deviceId) {
      throw new CloudsyncError('FORBIDDEN', 'The upload session belongs to another device')
    }
    if (session.result) return session.result
    if (session.state !== 'open' || session.expiresAt <= c.now) {
      throw new CloudsyncError('GONE', 'The upload session expired; start a new one')
    }
    const missing = await missingChunks(tx, session)
    if (missing.length > 0) {
      throw new CloudsyncError('INCOMPLETE_UPLOAD', `${missing.length} chunk(s) are missing`, {
        missing,
      })
    }

    const current = await getFileByPath(tx, c.accountId, session.path)
    const conflictCopy =
      current && displaces(session, current)
        ? await preserveConflictCopy(tx, current, c.deviceId, c.now)
        : null
    const result: CommitResult = {
      ...(await writeUpload(tx, session, current, c.now)),
      conflictCopy,
    }
    await tx.query(
      `UPDATE upload_sessions SET state = 'committed', result = $2::jsonb WHERE id = $1`,
      [session.id, json(result)],
    )
    return result
  })
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

type Written = Omit<CommitResult, 'conflictCopy'>

/** Writes the session's manifest as the file at its path, and logs it. */
async function writeUpload(
  tx: Db,
  s: UploadSession,
  current: FileRecord | undefined,
  now: Date,
): Promise<Written> {
  const { fileId, version, kind } = await placeUpload(tx, s, current, now)
  await insertVersion(tx, {
    fileId,
    version,
    domain: s.domain,
    manifest: s.manifest,
    deviceId: s.deviceId,
    writtenAt: now,
  })
  const seq = await appendChange(tx, {
    accountId: s.accountId,
    kind,
    fileId,
    path: s.path,
    version,
    deviceId: s.deviceId,
    now,
  })
  return { fileId, path: s.path, version, kind, seq }
}

/** Points the path at the upload's version: of the current file, a revived one, or a new one. */
async function placeUpload(
  tx: Db,
  s: UploadSession,
  current: FileRecord | undefined,
  now: Date,
): Promise<Pick<Written, 'fileId' | 'version' | 'kind'>> {
  if (current) {
    const version = current.version + 1
    await tx.query('UPDATE files SET version = $2, updated_at = $3 WHERE id = $1', [
      current.id,
      version,
      now,
    ])
    return { fileId: current.id, version, kind: 'modified' }
  }
  const revived = await deletedBase(tx, s)
  if (revived) {
    const version = revived.version + 1
    await tx.query(
      'UPDATE files SET path = $2, version = $3, deleted = false, updated_at = $4 WHERE id = $1',
      [revived.id, s.path, version, now],
    )
    // Devices that applied the delete have no file there: to them it is created again.
    return { fileId: revived.id, version, kind: 'created' }
  }
  return { fileId: await insertFile(tx, s.accountId, s.path, 1, now), version: 1, kind: 'created' }
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
