import { CloudsyncError } from '../../protocol/errors.ts'
import { lockAccount } from './accounts.ts'
import { appendChange } from './changes.ts'
import type { Db } from './db.ts'
import { type FileRecord, getFile, getFileByPath } from './file-reads.ts'
import { assertNoPathClash } from './path-clash.ts'

/**
 * Deletes and moves. Both name the version they were based on and are refused with
 * STALE_BASE if the file changed since, with nothing written: the device syncs, sees the
 * newer version, and decides again. (An upload never fails that way; it wins the path
 * and keeps the loser as a conflict copy. A delete or move has nothing to keep.)
 */

export interface FileOp {
  accountId: string
  deviceId: string
  fileId: string
  baseVersion: number
  now: Date
}

export interface FileOpResult {
  fileId: string
  path: string
  version: number
  /** The change appended, or null when the file already was in the asked-for state. */
  seq: number | null
}

export async function deleteFile(db: Db, op: FileOp): Promise<FileOpResult> {
  return db.transaction(async (tx) => {
    const file = await baseFile(tx, op)
    if (file.deleted) return { fileId: file.id, path: file.path, version: file.version, seq: null }
    await tx.query('UPDATE files SET deleted = true, updated_at = $2 WHERE id = $1', [
      file.id,
      op.now,
    ])
    const seq = await appendChange(tx, {
      accountId: op.accountId,
      kind: 'deleted',
      fileId: file.id,
      path: file.path,
      version: file.version,
      deviceId: op.deviceId,
      now: op.now,
    })
    return { fileId: file.id, path: file.path, version: file.version, seq }
  })
}

export interface MoveOp extends FileOp {
  toPath: string
}

/** Renames or moves a file; its id and version stay. An occupied target is a CONFLICT. */
export async function moveFile(db: Db, op: MoveOp): Promise<FileOpResult> {
  return db.transaction(async (tx) => {
    const file = await baseFile(tx, op)
    if (file.deleted) {
      throw new CloudsyncError('STALE_BASE', `${file.path} was deleted`, {
        fileId: file.id,
        deleted: true,
      })
    }
    if (file.path === op.toPath)
      return { fileId: file.id, path: file.path, version: file.version, seq: null }
    const occupant = await getFileByPath(tx, op.accountId, op.toPath)
    if (occupant) {
      throw new CloudsyncError('CONFLICT', `${op.toPath} already exists`, {
        path: op.toPath,
        fileId: occupant.id,
      })
    }
    // The moved file itself is leaving: `d/f` may become `d`.
    await assertNoPathClash(tx, op.accountId, op.toPath, file.id)
    await tx.query('UPDATE files SET path = $2, updated_at = $3 WHERE id = $1', [
      file.id,
      op.toPath,
      op.now,
    ])
    const seq = await appendChange(tx, {
      accountId: op.accountId,
      kind: 'moved',
      fileId: file.id,
      path: op.toPath,
      fromPath: file.path,
      version: file.version,
      deviceId: op.deviceId,
      now: op.now,
    })
    return { fileId: file.id, path: op.toPath, version: file.version, seq }
  })
}

/** Locks the account and returns the file, if it is still at the version the op was based on. */
async function baseFile(tx: Db, op: FileOp): Promise<FileRecord> {
  await lockAccount(tx, op.accountId)
  const file = await getFile(tx, op.accountId, op.fileId)
  if (!file) throw new CloudsyncError('NOT_FOUND', `No file ${op.fileId}`)
  if (file.version !== op.baseVersion) {
    throw new CloudsyncError(
      'STALE_BASE',
      `${file.path} is at version ${file.version}, not ${op.baseVersion}`,
      {
        fileId: file.id,
        currentVersion: file.version,
      },
    )
  }
  return file
}
