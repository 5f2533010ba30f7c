import type { Manifest } from '../../protocol/manifest.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { FileStat } from './file-system.ts'

/** A path as last synced with the coordinator: what the device uploaded or wrote there. */
export interface IndexedFile {
  path: string
  fileId: string
  version: number
  /** The file's stat right after that sync: a different stat means a local edit. */
  stat: FileStat
  contentHash: string
  manifest: Manifest
}

/** An upload in progress, kept so a restart resumes it instead of starting over. */
export interface UploadCheckpoint {
  path: string
  sessionId: string
  baseVersion: number | null
  manifest: Manifest
  /** Plaintext hash of each chunk by index: re-read chunks are checked against them. */
  plainHashes: string[]
  /** The file's stat when it was chunked: if it changed since, the upload starts over. */
  stat: FileStat
  startedAt: number
}

/**
 * A file placed ahead of its commit (docs/LAN-FIRST.md): another device's pending upload,
 * every chunk verified here, put in place on the base this device had. The path's
 * IndexedFile stays the base until the commit confirms the placement.
 */
export interface ProvisionalFile {
  path: string
  sessionId: string
  /** The uploader: the author of the commit to come. */
  deviceId: string
  /** What the pending version is based on: null for a new file. */
  base: { fileId: string | null; version: number } | null
  manifest: Manifest
  /** The placed file's stat: a different one means a local edit of the provisional file. */
  stat: FileStat
  placedAt: number
}

/**
 * The device's memory of its folder (node:sqlite in production, in memory for the
 * simulator). Synchronous: every call is a local transaction.
 */
export interface SyncIndex {
  getFile(path: string): IndexedFile | undefined
  /** Records the path's synced state and where each chunk's plaintext lives in it. */
  putFile(file: IndexedFile, plainHashes: readonly string[]): void
  removeFile(path: string): void
  listFiles(): IndexedFile[]
  filesByContentHash(contentHash: string): IndexedFile[]

  beginUpload(checkpoint: UploadCheckpoint): void
  ackChunk(sessionId: string, index: number): void
  acknowledged(sessionId: string): Set<number>
  getUpload(path: string): UploadCheckpoint | undefined
  listUploads(): UploadCheckpoint[]
  finishUpload(path: string): void

  /** Files placed ahead of their commit (provisional.ts). */
  getProvisional(): ProvisionalFile[]
  setProvisional(files: ProvisionalFile[]): void

  /** The last change applied from the account's log. */
  getCursor(): number
  setCursor(cursor: number): void
  /** Remote changes the cursor went past without applying them (sync-problems.ts). */
  getSkippedChanges(): Change[]
  setSkippedChanges(changes: Change[]): void
}
