import type { Manifest } from '../../protocol/manifest.ts'
import type { Db } from './db.ts'

/** A file as it is now: where it lives and the content of its current version. */
export interface FileSummary {
  id: string
  accountId: string
  path: string
  version: number
  deleted: boolean
  /** Last change of any kind (write, move, delete). */
  updatedAt: Date
  size: number
  hash: string
  /** Dedup domain of the current version's chunks. */
  domain: string
  /** The device that wrote the current version's content, and when. */
  deviceId: string
  writtenAt: Date
}

export interface FileRecord extends FileSummary {
  manifest: Manifest
}

/** One version of a file's content; versions are never deleted. */
export interface FileVersion {
  fileId: string
  version: number
  domain: string
  size: number
  hash: string
  manifest: Manifest
  deviceId: string
  createdAt: Date
}

const SUMMARY = `f.id, f.account_id AS "accountId", f.path, f.version, f.deleted,
  f.updated_at AS "updatedAt", v.size, v.hash, v.domain, v.device_id AS "deviceId",
  v.created_at AS "writtenAt"`
const CURRENT = 'files f JOIN file_versions v ON v.file_id = f.id AND v.version = f.version'

/** A file of the account by id, deleted or not. */
export async function getFile(
  db: Db,
  accountId: string,
  fileId: string,
): Promise<FileRecord | undefined> {
  const { rows } = await db.query<FileRecord>(
    `SELECT ${SUMMARY}, v.manifest FROM ${CURRENT} WHERE f.id = $2 AND f.account_id = $1`,
    [accountId, fileId],
  )
  return rows[0]
}

/** The live (not deleted) file at a path. */
export async function getFileByPath(
  db: Db,
  accountId: string,
  path: string,
): Promise<FileRecord | undefined> {
  const { rows } = await db.query<FileRecord>(
    `SELECT ${SUMMARY}, v.manifest FROM ${CURRENT}
     WHERE f.account_id = $1 AND f.path = $2 AND NOT f.deleted`,
    [accountId, path],
  )
  return rows[0]
}

export async function getFileVersion(
  db: Db,
  accountId: string,
  fileId: string,
  version: number,
): Promise<FileVersion | undefined> {
  const { rows } = await db.query<FileVersion>(
    `SELECT v.file_id AS "fileId", v.version, v.domain, v.size, v.hash, v.manifest,
       v.device_id AS "deviceId", v.created_at AS "createdAt"
     FROM file_versions v JOIN files f ON f.id = v.file_id
     WHERE f.account_id = $1 AND v.file_id = $2 AND v.version = $3`,
    [accountId, fileId, version],
  )
  return rows[0]
}

export interface ListOptions {
  /** Only paths that start with this string ('' or omitted: all). */
  prefix?: string
  /** Resume after this path: the `next` of the previous page. */
  after?: string
  limit: number
}

export interface FilePage {
  files: FileSummary[]
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null
}

/** Live files in byte order of their paths, a page at a time (keyset, so pages are stable). */
export async function listFiles(db: Db, accountId: string, o: ListOptions): Promise<FilePage> {
  const { rows } = await db.query<FileSummary>(
    `SELECT ${SUMMARY} FROM ${CURRENT}
     WHERE f.account_id = $1 AND NOT f.deleted AND starts_with(f.path, $2) AND f.path > $3
     ORDER BY f.path LIMIT $4`,
    [accountId, o.prefix ?? '', o.after ?? '', o.limit + 1],
  )
  const hasMore = rows.length > o.limit
  const files = hasMore ? rows.slice(0, o.limit) : rows
  return { files, next: hasMore ? files[files.length - 1]!.path : null }
}
