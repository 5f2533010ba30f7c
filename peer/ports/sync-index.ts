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

  /** The last change applied from the account's log. */
  getCursor(): number
  setCursor(cursor: number): void
  /** Remote changes the cursor went past without applying them (sync-problems.ts). */
  getSkippedChanges(): Change[]
  setSkippedChanges(changes: Change[]): void
}
