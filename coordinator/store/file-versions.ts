import { CloudsyncError } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { conflictCopyPath } from '../../protocol/paths.ts'
import { appendChange, type ConflictOf } from './changes.ts'
import { addChunkRefs } from './chunks.ts'
import type { Db } from './db.ts'
import { json } from './db.ts'
import { type FileRecord, getFileByPath } from './file-reads.ts'

/**
 * The writes that commits share. All of them run inside a transaction that holds the
 * account lock, so reading a path and then writing it cannot race another writer.
 */

export interface NewVersion {
  fileId: string
  version: number
  domain: string
  manifest: Manifest
  /** Who wrote the content, and when. */
  deviceId: string
  writtenAt: Date
}

/** Appends a version to a file's history; its chunks gain a reference. */
export async function insertVersion(tx: Db, v: NewVersion): Promise<void> {
  await tx.query(
    `INSERT INTO file_versions (file_id, version, domain, size, hash, manifest, device_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`,
    [
      v.fileId,
      v.version,
      v.domain,
      v.manifest.size,
      v.manifest.hash,
      json(v.manifest),
      v.deviceId,
      v.writtenAt,
    ],
  )
  await addChunkRefs(
    tx,
    v.domain,
    v.manifest.chunks.map((c) => c.id),
  )
}

/** A new file row (its first version is inserted separately). */
export async function insertFile(
  tx: Db,
  accountId: string,
  path: string,
  version: number,
  now: Date,
): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    'INSERT INTO files (account_id, path, version, updated_at) VALUES ($1, $2, $3, $4) RETURNING id',
    [accountId, path, version, now],
  )
  return rows[0]!.id
}

/** Enough room for every conflict of one device within one second. */
const MAX_COPY_ATTEMPTS = 100

export interface ConflictCopy {
  fileId: string
  path: string
  version: number
  seq: number
}

/**
 * Keeps a displaced version as a new file next to it, named after the device that wrote
 * it and when (docs/DESIGN.md "Conflicts"), and logs it as `created` with `conflictOf`. The
 * change is made by `deviceId`, the committing device, on behalf of the displaced one:
 * every device must apply it, the committing one included.
 */
export async function preserveConflictCopy(
  tx: Db,
  displaced: FileRecord,
  deviceId: string,
  now: Date,
): Promise<ConflictCopy> {
  const { rows } = await tx.query<{ name: string }>('SELECT name FROM devices WHERE id = $1', [
    displaced.deviceId,
  ])
  const writer = rows[0]?.name ?? 'unknown device'
  const path = await freeCopyPath(tx, displaced, writer)
  const fileId = await insertFile(tx, displaced.accountId, path, 1, now)
  await insertVersion(tx, {
    fileId,
    version: 1,
    domain: displaced.domain,
    manifest: displaced.manifest,
    deviceId: displaced.deviceId,
    writtenAt: displaced.writtenAt,
  })
  const conflictOf: ConflictOf = {
    fileId: displaced.id,
    version: displaced.version,
    path: displaced.path,
  }
  const seq = await appendChange(tx, {
    accountId: displaced.accountId,
    kind: 'created',
    fileId,
    path,
    version: 1,
    deviceId,
    now,
    conflictOf,
  })
  return { fileId, path, version: 1, seq }
}

async function freeCopyPath(tx: Db, displaced: FileRecord, writer: string): Promise<string> {
  for (let attempt = 1; attempt <= MAX_COPY_ATTEMPTS; attempt++) {
    const path = conflictCopyPath(displaced.path, writer, displaced.writtenAt, attempt)
    if (!(await getFileByPath(tx, displaced.accountId, path))) return path
  }
  throw new CloudsyncError('CONFLICT', `Too many conflict copies of ${displaced.path}`)
}
