import { chmodSync, closeSync, openSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'

/**
 * The index's tables. `files` is each path as last synced with the coordinator; its
 * `chunk_locations` say where each chunk's plaintext lives on this device (for reuse and
 * for serving peers), and go with the file (ON DELETE CASCADE). `uploads` and
 * `upload_acks` are the checkpoints that let an interrupted upload resume.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY,
  file_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  ino INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  manifest TEXT NOT NULL,
  synced_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS files_by_id ON files (file_id);
CREATE INDEX IF NOT EXISTS files_by_hash ON files (content_hash);

CREATE TABLE IF NOT EXISTS chunk_locations (
  chunk_id TEXT NOT NULL,
  path TEXT NOT NULL REFERENCES files (path) ON DELETE CASCADE,
  offset INTEGER NOT NULL,
  size INTEGER NOT NULL,
  plain_hash TEXT NOT NULL,
  PRIMARY KEY (path, offset)
) STRICT;
CREATE INDEX IF NOT EXISTS chunk_locations_by_id ON chunk_locations (chunk_id);

CREATE TABLE IF NOT EXISTS uploads (
  path TEXT PRIMARY KEY,
  session_id TEXT NOT NULL UNIQUE,
  base_version INTEGER,
  manifest TEXT NOT NULL,
  plain_hashes TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  ino INTEGER NOT NULL,
  started_at INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS upload_acks (
  session_id TEXT NOT NULL REFERENCES uploads (session_id) ON DELETE CASCADE,
  chunk_index INTEGER NOT NULL,
  PRIMARY KEY (session_id, chunk_index)
) STRICT;

CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`

/**
 * Opens (creating if needed) the index database. The file holds the device's view of the
 * account's files, so it is created private (0600) before SQLite touches it; SQLite gives
 * its -wal and -shm files the same mode as the database file.
 */
export function openDatabase(location: string): DatabaseSync {
  if (location !== ':memory:') {
    closeSync(openSync(location, 'a', 0o600))
    chmodSync(location, 0o600)
  }
  const db = new DatabaseSync(location, { enableForeignKeyConstraints: true })
  // First: switching to WAL needs a lock another process (a reader) may hold for a moment.
  db.exec('PRAGMA busy_timeout = 5000')
  if (location !== ':memory:') db.exec('PRAGMA journal_mode = WAL')
  // WAL with synchronous=NORMAL is durable across process crashes (kill -9); only a power
  // loss may drop the last transactions, which the coordinator's state then re-teaches.
  db.exec('PRAGMA synchronous = NORMAL')
  db.exec(SCHEMA)
  return db
}
