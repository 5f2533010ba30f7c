import Type, { type Static } from 'typebox'
import {
  CHUNK_SIZE_CEILING,
  GCM_TAG_BYTES,
  MAX_CHUNKS_PER_FILE,
  MAX_FILE_SIZE,
} from '../constants.ts'
import { ManifestChunk, Sha256Hex } from '../manifest.ts'
import { RemotePath } from '../paths.ts'
import {
  DeviceId,
  FileId,
  HttpUrl,
  IsoDateTime,
  PAGE_LIMIT_MAX,
  PageLimit,
  PageToken,
  SessionId,
  Version,
} from './common.ts'

/** Files: uploads, metadata, downloads, listing, delete and move (HTTP `/files`). */

const ChunkIndex = Type.Integer({ minimum: 0, maximum: MAX_CHUNKS_PER_FILE - 1 })
const FileSize = Type.Integer({ minimum: 0, maximum: MAX_FILE_SIZE })
const Chunks = Type.Array(ManifestChunk, { maxItems: MAX_CHUNKS_PER_FILE })
const ChunkIndexes = Type.Array(ChunkIndex, { maxItems: MAX_CHUNKS_PER_FILE })

/**
 * `POST /files/upload/init`. `{size, hash, chunks}` is a manifest: handlers also run
 * `validateManifest` for the arithmetic. `baseVersion` is the version the edit started
 * from, null for a new file.
 */
export const UploadInitRequest = Type.Object(
  {
    path: RemotePath,
    size: FileSize,
    hash: Sha256Hex,
    chunks: Chunks,
    baseVersion: Type.Union([Version, Type.Null()]),
    /**
     * The file the base version is a version of. Without it, the file now at the path:
     * wrong when that file was moved away and another created there since.
     */
    baseFileId: Type.Optional(FileId),
  },
  { additionalProperties: false },
)
export type UploadInitRequest = Static<typeof UploadInitRequest>

/** Where to PUT one missing chunk; send `headers` as given (they carry the checksum). */
export const ChunkUpload = Type.Object(
  {
    index: ChunkIndex,
    url: HttpUrl,
    method: Type.Literal('PUT'),
    headers: Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 4096 }), {
      maxProperties: 32,
    }),
  },
  { additionalProperties: false },
)
export type ChunkUpload = Static<typeof ChunkUpload>

/**
 * Proof of possession for a chunk another account uploaded (global dedup domain only):
 * the response is hex HMAC-SHA256 keyed with the nonce's bytes over ciphertext bytes
 * `[offset, offset + length)` of the chunk, which only a holder of the bytes can compute.
 */
export const Challenge = Type.Object(
  {
    index: ChunkIndex,
    nonce: Type.String({ pattern: '^[0-9a-f]+$', minLength: 32, maxLength: 128 }),
    offset: Type.Integer({ minimum: 0, maximum: CHUNK_SIZE_CEILING + GCM_TAG_BYTES - 1 }),
    length: Type.Integer({ minimum: 1, maximum: CHUNK_SIZE_CEILING + GCM_TAG_BYTES }),
  },
  { additionalProperties: false },
)
export type Challenge = Static<typeof Challenge>

const uploadSessionFields = {
  sessionId: SessionId,
  /** Indexes of the chunks the store lacks: upload exactly these. */
  missing: ChunkIndexes,
  uploads: Type.Array(ChunkUpload, { maxItems: MAX_CHUNKS_PER_FILE }),
  expiresAt: IsoDateTime,
  challenges: Type.Optional(Type.Array(Challenge, { maxItems: MAX_CHUNKS_PER_FILE })),
}

export const UploadInitResponse = Type.Object(uploadSessionFields, { additionalProperties: false })
export type UploadInitResponse = Static<typeof UploadInitResponse>

export const UploadState = Type.Union([
  Type.Literal('open'),
  Type.Literal('committed'),
  Type.Literal('expired'),
])
export type UploadState = Static<typeof UploadState>

/** `GET /files/upload/{sessionId}`: resume an upload; `missing` is fresh, URLs are new. */
export const UploadStatusResponse = Type.Object(
  { ...uploadSessionFields, state: UploadState },
  { additionalProperties: false },
)
export type UploadStatusResponse = Static<typeof UploadStatusResponse>

export const SessionParams = Type.Object({ sessionId: SessionId }, { additionalProperties: false })
export type SessionParams = Static<typeof SessionParams>

/** What an upload was based on: null for a new file. */
export const UploadBase = Type.Union([
  Type.Object(
    { fileId: Type.Union([FileId, Type.Null()]), version: Version },
    { additionalProperties: false },
  ),
  Type.Null(),
])
export type UploadBase = Static<typeof UploadBase>

/**
 * An open upload session of the account (docs/LAN-FIRST.md): any device of the account
 * may pull its chunks from the uploader, and finish it on the uploader's behalf.
 */
export const PendingUpload = Type.Object(
  {
    sessionId: SessionId,
    path: RemotePath,
    deviceId: DeviceId,
    size: FileSize,
    hash: Sha256Hex,
    chunks: Chunks,
    base: UploadBase,
    expiresAt: IsoDateTime,
  },
  { additionalProperties: false },
)
export type PendingUpload = Static<typeof PendingUpload>

/** `GET /files/uploads`: the account's open upload sessions, oldest first. */
export const PendingUploadsResponse = Type.Object(
  { uploads: Type.Array(PendingUpload, { maxItems: 1000 }) },
  { additionalProperties: false },
)
export type PendingUploadsResponse = Static<typeof PendingUploadsResponse>

/** `POST /files/upload/{sessionId}/complete`. */
export const UploadCompleteRequest = Type.Object(
  {
    proofs: Type.Optional(
      Type.Array(
        Type.Object({ index: ChunkIndex, response: Sha256Hex }, { additionalProperties: false }),
        { maxItems: MAX_CHUNKS_PER_FILE },
      ),
    ),
  },
  { additionalProperties: false },
)
export type UploadCompleteRequest = Static<typeof UploadCompleteRequest>

const FileRef = Type.Object(
  { fileId: FileId, path: RemotePath, version: Version },
  { additionalProperties: false },
)

/**
 * The commit. `conflict` names the conflict copy that now holds the version this commit
 * displaced without having seen it (docs/DESIGN.md "Conflicts").
 */
export const UploadCompleteResponse = Type.Object(
  {
    fileId: FileId,
    version: Version,
    path: RemotePath,
    state: Type.Literal('committed'),
    conflict: Type.Optional(FileRef),
  },
  { additionalProperties: false },
)
export type UploadCompleteResponse = Static<typeof UploadCompleteResponse>

const summaryFields = {
  fileId: FileId,
  path: RemotePath,
  version: Version,
  size: FileSize,
  hash: Sha256Hex,
  /** The device that committed this version. */
  deviceId: DeviceId,
  updatedAt: IsoDateTime,
  deleted: Type.Boolean(),
}

/** `GET /files/{fileId}/metadata`, `GET /files/by-path`, and the answer to a move. */
export const FileMetadata = Type.Object(
  { ...summaryFields, chunks: Chunks },
  { additionalProperties: false },
)
export type FileMetadata = Static<typeof FileMetadata>

/** FileMetadata without the chunk list, for listings and the answer to a delete. */
export const FileSummary = Type.Object(summaryFields, { additionalProperties: false })
export type FileSummary = Static<typeof FileSummary>

export const FileParams = Type.Object({ fileId: FileId }, { additionalProperties: false })
export type FileParams = Static<typeof FileParams>

/** `GET /files/{fileId}/download?version=`: the current version unless one is named. */
export const DownloadQuery = Type.Object(
  { version: Type.Optional(Version) },
  { additionalProperties: false },
)
export type DownloadQuery = Static<typeof DownloadQuery>

export const DownloadResponse = Type.Object(
  {
    fileId: FileId,
    version: Version,
    chunks: Type.Array(
      Type.Object(
        { index: ChunkIndex, id: Sha256Hex, url: HttpUrl },
        { additionalProperties: false },
      ),
      { maxItems: MAX_CHUNKS_PER_FILE },
    ),
    expiresAt: IsoDateTime,
  },
  { additionalProperties: false },
)
export type DownloadResponse = Static<typeof DownloadResponse>

/** `GET /files/by-path?path=`. */
export const ByPathQuery = Type.Object({ path: RemotePath }, { additionalProperties: false })
export type ByPathQuery = Static<typeof ByPathQuery>

/** `GET /files?prefix=&cursor=&limit=`. `cursor` is the opaque `next` of the previous page. */
export const ListFilesQuery = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({ maxLength: 4096, pattern: '^[^\\u0000-\\u001f\\u007f]*$' }),
    ),
    cursor: Type.Optional(PageToken),
    limit: Type.Optional(PageLimit),
  },
  { additionalProperties: false },
)
export type ListFilesQuery = Static<typeof ListFilesQuery>

export const ListFilesResponse = Type.Object(
  {
    files: Type.Array(FileSummary, { maxItems: PAGE_LIMIT_MAX }),
    next: Type.Optional(PageToken),
  },
  { additionalProperties: false },
)
export type ListFilesResponse = Static<typeof ListFilesResponse>

/** `DELETE /files/{fileId}`; answers the tombstone as a FileSummary (`deleted: true`). */
export const DeleteFileRequest = Type.Object(
  { baseVersion: Version },
  { additionalProperties: false },
)
export type DeleteFileRequest = Static<typeof DeleteFileRequest>

/** `POST /files/{fileId}/move`; answers the moved file's FileMetadata. */
export const MoveFileRequest = Type.Object(
  { to: RemotePath, baseVersion: Version },
  { additionalProperties: false },
)
export type MoveFileRequest = Static<typeof MoveFileRequest>
