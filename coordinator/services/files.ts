/** Reading files: store records to the protocol's shapes, and presigned downloads. */

import type { FastifyInstance } from 'fastify'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { DownloadResponse, FileMetadata, FileSummary } from '../../protocol/schemas/files.ts'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import { chunkOwners } from '../store/chunks.ts'
import {
  type FileRecord,
  type FileVersion,
  getFile,
  getFileVersion,
  type FileSummary as StoredSummary,
} from '../store/file-reads.ts'
import { mapLimit } from './chunk-presence.ts'

export function toSummary(f: StoredSummary): FileSummary {
  return {
    fileId: f.id,
    path: f.path,
    version: f.version,
    size: f.size,
    hash: f.hash,
    deviceId: f.deviceId,
    updatedAt: f.updatedAt.toISOString(),
    deleted: f.deleted,
  }
}

export function toMetadata(f: FileRecord): FileMetadata {
  return { ...toSummary(f), chunks: f.manifest.chunks }
}

/** The account's file, deleted or not; another account's file reads as no file. */
export async function ownFile(
  app: FastifyInstance,
  accountId: string,
  fileId: string,
): Promise<FileRecord> {
  const file = await getFile(app.db, accountId, fileId)
  if (!file) throw new CloudsyncError('NOT_FOUND', `No file ${fileId}`, { fileId })
  return file
}

/** One of the file's versions (all are kept), or NOT_FOUND naming the current one. */
async function olderVersion(
  app: FastifyInstance,
  file: FileRecord,
  version: number,
): Promise<FileVersion> {
  const old = await getFileVersion(app.db, file.accountId, file.id, version)
  if (!old) {
    throw new CloudsyncError('NOT_FOUND', `${file.path} has no version ${version}`, {
      field: 'version',
      currentVersion: file.version,
    })
  }
  return old
}

/** A file's metadata at its current version, or at `version` when named (history is kept). */
export async function fileMetadata(
  app: FastifyInstance,
  accountId: string,
  fileId: string,
  version: number | undefined,
): Promise<FileMetadata> {
  const file = await ownFile(app, accountId, fileId)
  if (version === undefined || version === file.version) return toMetadata(file)
  const old = await olderVersion(app, file, version)
  return {
    ...toSummary(file),
    version,
    size: old.size,
    hash: old.hash,
    deviceId: old.deviceId,
    updatedAt: old.createdAt.toISOString(),
    chunks: old.manifest.chunks,
  }
}

/** Presigned GETs for every chunk of the current version, or of `version` when named. */
export async function downloadFile(
  app: FastifyInstance,
  accountId: string,
  fileId: string,
  version: number | undefined,
): Promise<DownloadResponse> {
  const file = await ownFile(app, accountId, fileId)
  let { manifest, domain } = file
  let chosen = file.version
  if (version !== undefined && version !== file.version) {
    const old = await olderVersion(app, file, version)
    manifest = old.manifest
    domain = old.domain
    chosen = version
  } else if (file.deleted && version === undefined) {
    throw new CloudsyncError('GONE', `${file.path} was deleted; name a version to fetch it`, {
      fileId,
      version: file.version,
    })
  }
  const expiresInSeconds = app.config.presignTtlSeconds
  const owners = await chunkOwners(app.db, domain, [...new Set(manifest.chunks.map((c) => c.id))])
  const signed = await mapLimit(manifest.chunks, 32, (c) =>
    app.blobs.presignGet(blobKeyOf(owners.get(c.id) ?? null, c.id), { expiresInSeconds }),
  )
  const expiresMs = Math.min(
    app.now().getTime() + expiresInSeconds * 1000,
    ...signed.map((s) => s.expiresAt.getTime()),
  )
  return {
    fileId,
    version: chosen,
    chunks: manifest.chunks.map((c, i) => ({ index: c.index, id: c.id, url: signed[i]!.url })),
    expiresAt: new Date(expiresMs).toISOString(),
  }
}
