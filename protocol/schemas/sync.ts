import Type, { type Static } from 'typebox'
import { MAX_CHUNKS_PER_FILE, MAX_FILE_SIZE } from '../constants.ts'
import { ManifestChunk, Sha256Hex } from '../manifest.ts'
import { RemotePath } from '../paths.ts'
import { Cursor, DeviceId, FileId, IsoDateTime, Seq, Version } from './common.ts'

/** The change log (HTTP `/sync`, also pushed over the WebSocket). */

export const ChangeKind = Type.Union([
  Type.Literal('created'),
  Type.Literal('modified'),
  Type.Literal('deleted'),
  Type.Literal('moved'),
])
export type ChangeKind = Static<typeof ChangeKind>

/**
 * One committed change. `seq` is its position in the account's log (the cursor after it).
 * `chunks` comes with created/modified/moved, not with deleted; `fromPath` with moved;
 * `size`/`hash` of a deleted file are those of its last content. `conflictOf` marks a
 * conflict copy and names the file whose displaced version it keeps.
 */
export const Change = Type.Object(
  {
    seq: Seq,
    kind: ChangeKind,
    fileId: FileId,
    path: RemotePath,
    fromPath: Type.Optional(RemotePath),
    version: Version,
    size: Type.Integer({ minimum: 0, maximum: MAX_FILE_SIZE }),
    hash: Sha256Hex,
    chunks: Type.Optional(Type.Array(ManifestChunk, { maxItems: MAX_CHUNKS_PER_FILE })),
    deviceId: DeviceId,
    committedAt: IsoDateTime,
    conflictOf: Type.Optional(
      Type.Object({ fileId: FileId, path: RemotePath }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
)
export type Change = Static<typeof Change>

export const CHANGES_LIMIT_DEFAULT = 100
export const CHANGES_LIMIT_MAX = 1000
export const CHANGES_WAIT_MAX_SECONDS = 60

/**
 * `GET /sync/changes?cursor=N&limit=L&wait=S`: changes with seq > N, oldest first. With
 * `wait` > 0 and nothing new, the answer is held up to S seconds (long poll).
 */
export const ChangesQuery = Type.Object(
  {
    cursor: Cursor,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: CHANGES_LIMIT_MAX, default: CHANGES_LIMIT_DEFAULT }),
    ),
    wait: Type.Optional(
      Type.Integer({ minimum: 0, maximum: CHANGES_WAIT_MAX_SECONDS, default: 0 }),
    ),
  },
  { additionalProperties: false },
)
export type ChangesQuery = Static<typeof ChangesQuery>

/**
 * `cursor` is the seq of the last change returned (the request's cursor if none); `head`
 * the account's newest seq when the page was read, so a device knows how far behind it is.
 */
export const ChangesResponse = Type.Object(
  {
    changes: Type.Array(Change, { maxItems: CHANGES_LIMIT_MAX }),
    cursor: Cursor,
    hasMore: Type.Boolean(),
    head: Type.Optional(Cursor),
  },
  { additionalProperties: false },
)
export type ChangesResponse = Static<typeof ChangesResponse>

export const SNAPSHOT_LIMIT_DEFAULT = 100
export const SNAPSHOT_LIMIT_MAX = 1000

/**
 * `GET /sync/snapshot?at=N&since=C&after=F&limit=L`: what a device at cursor C must do to
 * be at cursor N (the account's head when N is left out) without replaying the log: every
 * file whose last change up to N came after C, by file id after F. A file live at N comes
 * with its path and content; one deleted by N comes as `deleted` when `since` is given (0
 * too: a device at cursor 0 may hold files it uploaded itself, which others deleted since).
 Without `since`, that is the account's whole live tree.
 * Every page of one snapshot names the same `at`, so the pages agree.
 */
export const SnapshotQuery = Type.Object(
  {
    at: Type.Optional(Cursor),
    since: Type.Optional(Cursor),
    after: Type.Optional(FileId),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: SNAPSHOT_LIMIT_MAX, default: SNAPSHOT_LIMIT_DEFAULT }),
    ),
  },
  { additionalProperties: false },
)
export type SnapshotQuery = Static<typeof SnapshotQuery>

/**
 * A file as it was at the snapshot's cursor: where it was and its content, or `deleted`
 * (then `path` is where it was deleted, and no `chunks`).
 */
export const SnapshotFile = Type.Object(
  {
    fileId: FileId,
    path: RemotePath,
    version: Version,
    size: Type.Integer({ minimum: 0, maximum: MAX_FILE_SIZE }),
    hash: Sha256Hex,
    chunks: Type.Optional(Type.Array(ManifestChunk, { maxItems: MAX_CHUNKS_PER_FILE })),
    deleted: Type.Optional(Type.Literal(true)),
    deviceId: DeviceId,
    committedAt: IsoDateTime,
  },
  { additionalProperties: false },
)
export type SnapshotFile = Static<typeof SnapshotFile>

/** `next` is the `after` of the following page; absent on the last page. */
export const SnapshotResponse = Type.Object(
  {
    at: Cursor,
    files: Type.Array(SnapshotFile, { maxItems: SNAPSHOT_LIMIT_MAX }),
    next: Type.Optional(FileId),
  },
  { additionalProperties: false },
)
export type SnapshotResponse = Static<typeof SnapshotResponse>

/** `POST /sync/notify`: a device saw local changes under these paths. */
export const NotifyRequest = Type.Object(
  {
    paths: Type.Array(RemotePath, { minItems: 1, maxItems: 100 }),
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
export type NotifyRequest = Static<typeof NotifyRequest>

/** The account's current cursor. */
export const NotifyResponse = Type.Object({ cursor: Cursor }, { additionalProperties: false })
export type NotifyResponse = Static<typeof NotifyResponse>

/** `GET /coordinators`: the instances serving this deployment, for a device's failover. */
export const CoordinatorList = Type.Object(
  {
    coordinators: Type.Array(
      Type.Object({ url: Type.String({ maxLength: 2048 }) }, { additionalProperties: false }),
      { maxItems: 100 },
    ),
  },
  { additionalProperties: false },
)
export type CoordinatorList = Static<typeof CoordinatorList>
