import type { DeviceList } from '../../protocol/schemas/devices.ts'
import type {
  ChunkUpload,
  DownloadResponse,
  FileMetadata,
  FileSummary,
  ListFilesResponse,
  PendingUploadsResponse,
  UploadCompleteRequest,
  UploadCompleteResponse,
  UploadInitRequest,
  UploadInitResponse,
  UploadStatusResponse,
} from '../../protocol/schemas/files.ts'
import type {
  ChangesResponse,
  SnapshotQuery,
  SnapshotResponse,
} from '../../protocol/schemas/sync.ts'
import type { ServerMessage } from '../../protocol/schemas/ws.ts'

/**
 * The coordinator as a device uses it: one method per route. Errors are CloudsyncError
 * with the coordinator's code (STALE_BASE, NOT_FOUND, ...), or UNAVAILABLE when it could
 * not be reached: the caller retries those.
 */
export interface CoordinatorApi {
  initUpload(request: UploadInitRequest, signal?: AbortSignal): Promise<UploadInitResponse>
  uploadStatus(sessionId: string, signal?: AbortSignal): Promise<UploadStatusResponse>
  /** The account's open upload sessions (docs/LAN-FIRST.md). */
  pendingUploads(signal?: AbortSignal): Promise<PendingUploadsResponse>
  completeUpload(
    sessionId: string,
    request?: UploadCompleteRequest,
    signal?: AbortSignal,
  ): Promise<UploadCompleteResponse>
  /** PUTs one chunk's ciphertext to its presigned URL. */
  putChunk(upload: ChunkUpload, ciphertext: Uint8Array, signal?: AbortSignal): Promise<void>
  download(fileId: string, version?: number, signal?: AbortSignal): Promise<DownloadResponse>
  /** GETs one chunk's ciphertext from a presigned URL (unverified: the caller checks the id). */
  fetchChunk(url: string, signal?: AbortSignal): Promise<Uint8Array>
  metadata(fileId: string, signal?: AbortSignal): Promise<FileMetadata>
  byPath(path: string, signal?: AbortSignal): Promise<FileMetadata>
  list(query: { prefix?: string; cursor?: string; limit?: number }): Promise<ListFilesResponse>
  deleteFile(fileId: string, baseVersion: number, signal?: AbortSignal): Promise<FileSummary>
  moveFile(
    fileId: string,
    to: string,
    baseVersion: number,
    signal?: AbortSignal,
  ): Promise<FileMetadata>
  changes(
    cursor: number,
    options?: { limit?: number; wait?: number; signal?: AbortSignal },
  ): Promise<ChangesResponse>
  /** The account's live files at cursor `at` (its head when left out), a page after `after`. */
  snapshot(query: SnapshotQuery, signal?: AbortSignal): Promise<SnapshotResponse>
  devices(signal?: AbortSignal): Promise<DeviceList>
  updateAddresses(addresses: string[], signal?: AbortSignal): Promise<void>
  invite(signal?: AbortSignal): Promise<{ token: string; expiresAt: string }>
}

/**
 * The push channel (WebSocket in production). `open` says hello with the cursor and
 * delivers every server message in order until the channel closes; it resolves when it
 * closes (cleanly, by abort, or by a network failure) and the caller reconnects from its
 * own cursor. Handlers are awaited, so a slow consumer holds the channel back.
 */
export interface PushChannel {
  open(
    cursor: number,
    onMessage: (message: ServerMessage) => Promise<void> | void,
    signal: AbortSignal,
    /** Sent in the hello: how far behind the device still replays the log (ws.ts). */
    options?: { replayAtMost?: number },
  ): Promise<void>
}
