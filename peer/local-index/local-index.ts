import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { FileStat } from '../ports/file-system.ts'
import type { IndexedFile, UploadCheckpoint } from '../ports/sync-index.ts'
import { openDatabase } from './database.ts'

/** A path as last synced with the coordinator (uploaded or downloaded), and when. */
export interface FileEntry extends IndexedFile {
  /** When it was synced (the injected clock's milliseconds). */
  syncedAt: number
}

/** Where one chunk's plaintext lives in this device's own files. */
export interface ChunkLocation {
  path: string
  offset: number
  size: number
  /** SHA-256 of the plaintext, hex: checked before the bytes are served or reused. */
  plainHash: string
}

export type { UploadCheckpoint }

type Row = Record<string, SQLOutputValue>

const num = (v: SQLOutputValue | undefined): number => Number(v)
const str = (v: SQLOutputValue | undefined): string => String(v)

function toEntry(row: Row): FileEntry {
  return {
    path: str(row.path),
    fileId: str(row.file_id),
    version: num(row.version),
    stat: { size: num(row.size), mtimeMs: num(row.mtime_ms), ino: num(row.ino) },
    contentHash: str(row.content_hash),
    manifest: JSON.parse(str(row.manifest)) as Manifest,
    syncedAt: num(row.synced_at),
  }
}

function toCheckpoint(row: Row): UploadCheckpoint {
  return {
    path: str(row.path),
    sessionId: str(row.session_id),
    baseVersion: row.base_version === null ? null : num(row.base_version),
    manifest: JSON.parse(str(row.manifest)) as Manifest,
    plainHashes: JSON.parse(str(row.plain_hashes)) as string[],
    stat: { size: num(row.size), mtimeMs: num(row.mtime_ms), ino: num(row.ino) },
    startedAt: num(row.started_at),
  }
}

/**
 * The device's local index in SQLite (`node:sqlite`, synchronous: every method is one or a
 * few prepared statements, fast enough to call from the sync loop). Open a file path in
 * production, `':memory:'` in tests and the simulator.
 */
export class LocalIndex {
  readonly #db: DatabaseSync
  readonly #q: Record<string, StatementSync>

  constructor(location: string) {
    this.#db = openDatabase(location)
    const p = (sql: string) => this.#db.prepare(sql)
    this.#q = {
      getFile: p('SELECT * FROM files WHERE path = ?'),
      getStat: p('SELECT size, mtime_ms, ino FROM files WHERE path = ?'),
      putFile: p(`INSERT OR REPLACE INTO files
        (path, file_id, version, size, mtime_ms, ino, content_hash, manifest, synced_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      removeFile: p('DELETE FROM files WHERE path = ?'),
      listFiles: p('SELECT * FROM files ORDER BY path'),
      fileById: p('SELECT * FROM files WHERE file_id = ? ORDER BY path LIMIT 1'),
      filesByHash: p('SELECT * FROM files WHERE content_hash = ? ORDER BY path'),
      clearLocations: p('DELETE FROM chunk_locations WHERE path = ?'),
      addLocation: p(`INSERT OR REPLACE INTO chunk_locations
        (chunk_id, path, offset, size, plain_hash) VALUES (?, ?, ?, ?, ?)`),
      locate: p(`SELECT path, offset, size, plain_hash FROM chunk_locations
        WHERE chunk_id = ? ORDER BY path, offset`),
      beginUpload: p(`INSERT INTO uploads
        (path, session_id, base_version, manifest, plain_hashes, size, mtime_ms, ino, started_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      ackChunk: p('INSERT OR IGNORE INTO upload_acks (session_id, chunk_index) VALUES (?, ?)'),
      getUpload: p('SELECT * FROM uploads WHERE path = ?'),
      listUploads: p('SELECT * FROM uploads ORDER BY started_at, path'),
      acknowledged: p('SELECT chunk_index FROM upload_acks WHERE session_id = ?'),
      finishUpload: p('DELETE FROM uploads WHERE path = ?'),
      kvGet: p('SELECT value FROM kv WHERE key = ?'),
      kvSet: p('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)'),
      kvDelete: p('DELETE FROM kv WHERE key = ?'),
    }
  }

  getFile(path: string): FileEntry | undefined {
    const row = this.#q.getFile!.get(path)
    return row && toEntry(row)
  }

  /** Just the synced stat, without parsing the manifest: checked on every chunk served. */
  syncedStat(path: string): FileStat | undefined {
    const row = this.#q.getStat!.get(path)
    return row && { size: num(row.size), mtimeMs: num(row.mtime_ms), ino: num(row.ino) }
  }

  /**
   * Records a path as synced and rewrites where its chunks live, in one transaction, so
   * the locations never describe another version of the file than the entry does.
   */
  putFile(entry: FileEntry, plainHashes: readonly string[]): void {
    const chunks = entry.manifest.chunks
    if (plainHashes.length !== chunks.length) {
      throw new CloudsyncError(
        'INVALID_INPUT',
        `${entry.path}: ${plainHashes.length} plaintext hashes for ${chunks.length} chunks`,
      )
    }
    this.#transaction(() => {
      this.#q.clearLocations!.run(entry.path)
      const { size, mtimeMs, ino } = entry.stat
      this.#q.putFile!.run(
        entry.path,
        entry.fileId,
        entry.version,
        size,
        mtimeMs,
        ino,
        entry.contentHash,
        JSON.stringify(entry.manifest),
        entry.syncedAt,
      )
      chunks.forEach((c, i) => {
        this.#q.addLocation!.run(c.id, entry.path, c.offset, c.size, plainHashes[i]!)
      })
    })
  }

  /** Forgets a path and its chunk locations. */
  removeFile(path: string): boolean {
    return Number(this.#q.removeFile!.run(path).changes) > 0
  }

  listFiles(): FileEntry[] {
    return this.#q.listFiles!.all().map(toEntry)
  }

  fileById(fileId: string): FileEntry | undefined {
    const row = this.#q.fileById!.get(fileId)
    return row && toEntry(row)
  }

  /** Files with this content: how a new path with known content is recognised as a move. */
  filesByContentHash(hash: string): FileEntry[] {
    return this.#q.filesByHash!.all(hash).map(toEntry)
  }

  /** Every place this device holds the chunk's plaintext (possibly stale: check first). */
  locate(chunkId: string): ChunkLocation[] {
    return this.#q.locate!.all(chunkId).map((row) => ({
      path: str(row.path),
      offset: num(row.offset),
      size: num(row.size),
      plainHash: str(row.plain_hash),
    }))
  }

  /** Starts (or restarts) the checkpoint for a path; an older session's acks are dropped. */
  beginUpload(checkpoint: UploadCheckpoint): void {
    const { size, mtimeMs, ino } = checkpoint.stat
    this.#transaction(() => {
      this.#q.finishUpload!.run(checkpoint.path)
      this.#q.beginUpload!.run(
        checkpoint.path,
        checkpoint.sessionId,
        checkpoint.baseVersion,
        JSON.stringify(checkpoint.manifest),
        JSON.stringify(checkpoint.plainHashes),
        size,
        mtimeMs,
        ino,
        checkpoint.startedAt,
      )
    })
  }

  /** Records that the coordinator (or its store) has chunk `index` of the session. */
  ackChunk(sessionId: string, index: number): void {
    this.#q.ackChunk!.run(sessionId, index)
  }

  getUpload(path: string): UploadCheckpoint | undefined {
    const row = this.#q.getUpload!.get(path)
    return row && toCheckpoint(row)
  }

  listUploads(): UploadCheckpoint[] {
    return this.#q.listUploads!.all().map(toCheckpoint)
  }

  acknowledged(sessionId: string): Set<number> {
    return new Set(this.#q.acknowledged!.all(sessionId).map((r) => num(r.chunk_index)))
  }

  /** Drops the checkpoint (completed or abandoned) and its acks. */
  finishUpload(path: string): void {
    this.#q.finishUpload!.run(path)
  }

  get(key: string): string | undefined {
    const row = this.#q.kvGet!.get(key)
    return row && str(row.value)
  }

  /** Sets a value; `undefined` deletes the key. */
  set(key: string, value: string | undefined): void {
    if (value === undefined) this.#q.kvDelete!.run(key)
    else this.#q.kvSet!.run(key, value)
  }

  /** The change-log cursor this device has applied up to (0 before the first sync). */
  get cursor(): number {
    return Number(this.get('cursor') ?? 0)
  }

  set cursor(value: number) {
    this.set('cursor', String(value))
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }

  #transaction(body: () => void): void {
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      body()
      this.#db.exec('COMMIT')
    } catch (err) {
      this.#db.exec('ROLLBACK')
      throw err
    }
  }
}
