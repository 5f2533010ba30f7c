import Type, { type Static } from 'typebox'
import { MAX_FILE_SIZE } from '../constants.ts'
import { Sha256Hex } from '../manifest.ts'
import { RemotePath } from '../paths.ts'
import { DeviceId, FileId, IsoDateTime, Seq, Version } from './common.ts'
import { ChangeKind } from './sync.ts'

/**
 * A path's history (HTTP `GET /files/history`): every committed change that touched it,
 * newest first. Versions are kept, so any content event can be restored by committing its
 * manifest again (`GET /files/{fileId}/metadata?version=` gives the manifest).
 */

export const HISTORY_LIMIT_MAX = 1000

export const HistoryQuery = Type.Object(
  {
    path: RemotePath,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: HISTORY_LIMIT_MAX })),
  },
  { additionalProperties: false },
)
export type HistoryQuery = Static<typeof HistoryQuery>

export const HistoryEvent = Type.Object(
  {
    seq: Seq,
    kind: ChangeKind,
    fileId: FileId,
    /** The file's version after this change (a move or a delete keeps it). */
    version: Version,
    path: RemotePath,
    /** For a move: where the file was. */
    fromPath: Type.Optional(RemotePath),
    deviceId: DeviceId,
    committedAt: IsoDateTime,
    /** The content this version holds (for a delete: the content it removed). */
    size: Type.Integer({ minimum: 0, maximum: MAX_FILE_SIZE }),
    hash: Sha256Hex,
    /**
     * The undelete window: for a version that is no longer live content (replaced or
     * deleted), until when it stays restorable; absent while it is live.
     */
    restorableUntil: Type.Optional(IsoDateTime),
    /** True once the window has closed on this version: its content is no longer kept. */
    pruned: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type HistoryEvent = Static<typeof HistoryEvent>

export const HistoryResponse = Type.Object(
  { path: RemotePath, events: Type.Array(HistoryEvent, { maxItems: HISTORY_LIMIT_MAX }) },
  { additionalProperties: false },
)
export type HistoryResponse = Static<typeof HistoryResponse>

/** `GET /files/{fileId}/metadata?version=`: the current version unless one is named. */
export const MetadataQuery = Type.Object(
  { version: Type.Optional(Version) },
  { additionalProperties: false },
)
export type MetadataQuery = Static<typeof MetadataQuery>
