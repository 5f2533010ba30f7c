import type { ByteSource } from '../../protocol/pipeline/byte-source.ts'

/**
 * The synced folder as the sync logic sees it. Paths are remote paths (relative, POSIX
 * separators, validated): an implementation resolves them under its root and refuses
 * anything that would land outside it. The state directory is invisible here. An empty
 * folder shows as its marker file (protocol/paths.ts FOLDER_MARKER; adapters/folder-markers.ts).
 */
export interface SyncFileSystem {
  stat(path: string): Promise<FileStat | undefined>
  /**
   * Every file under the root, recursively (not directories, not the state directory);
   * with `under`, only the files inside that folder (none when it is no folder). Entries
   * that cannot be synced (a name no device could use, a symlink) are not listed but told
   * to `onSkipped`.
   */
  list(options?: ListOptions): AsyncIterable<{
    path: string
    stat: FileStat
  }>
  /**
   * Why the entry at `path` (as a watcher reported it, valid or not) cannot be synced;
   * undefined when nothing is there, or a file or folder that can.
   */
  whyUnsyncable(path: string): Promise<string | undefined>
  openRead(path: string): Promise<ReadHandle>
  /**
   * A new file to be written at any positions, then atomically put in place (fsync,
   * rename). Nothing appears under the real name until `commit`.
   */
  createTemp(size: number): Promise<TempFile>
  /**
   * A temp file for a download of content `key` (its content hash) that outlives the
   * process: when a download was cut short, it opens again with what was written
   * (`resumed`), for the caller to verify chunk by chunk. Optional: without it, a download
   * starts over.
   */
  openPartial?(key: string, size: number): Promise<{ temp: TempFile; resumed: boolean }>
  /** Bytes free for new files where temp files are written; undefined when unknown. */
  freeBytes?(): Promise<number | undefined>
  /** Removes a file if it still matches `expected`; false when it changed or is gone. */
  remove(path: string, expected?: FileStat): Promise<boolean>
  /** Moves a file if the source still matches `expected` and the target is free. */
  rename(from: string, to: string, expected?: FileStat): Promise<boolean>
  /**
   * Removes a folder if it is empty; false when it is not, or is no folder. Removing and
   * moving files leave their folders: which to remove is the sync logic's call.
   */
  removeFolder(path: string): Promise<boolean>
}

export interface ListOptions {
  onSkipped?: (entry: SkippedEntry) => void
  /** A folder path: list only what is inside it. */
  under?: string
}

/** An entry in the folder that is never synced, and why. */
export interface SkippedEntry {
  /** Its path as shown to a person (a name that is not UTF-8 has its bad bytes replaced). */
  path: string
  reason: string
}

/** Why an entry is never synced, in the words `status` shows. */
export const UNSYNCABLE = {
  symlink: 'a symbolic link (links are not followed)',
  special: 'not a regular file or folder',
  notUtf8: 'its name is not valid UTF-8',
  notNfc: 'its name is not in Unicode NFC form',
  /** A name validatePath refuses: its message says why. */
  badName: (message: string) => `its name cannot be synced: ${message}`,
} as const

/** What tells a file changed without reading it. */
export interface FileStat {
  size: number
  mtimeMs: number
  /** Inode (or any id stable across renames); 0 when the platform has none. */
  ino: number
}

export interface ReadHandle {
  readonly stat: FileStat
  /** Sequential reads from the start, for the chunking pipeline. */
  readonly source: ByteSource
  /** Exactly `length` bytes at `offset`; fewer means the file shrank (an error). */
  readRange(offset: number, length: number): Promise<Uint8Array>
  close(): Promise<void>
}

export interface TempFile {
  write(bytes: Uint8Array, position: number): Promise<void>
  /** Reads back `length` bytes written at `offset` (a staged download serving peers). */
  read(offset: number, length: number): Promise<Uint8Array>
  /**
   * Flushes and renames into `path`. `expected` guards a local edit: when the file now at
   * `path` is not the one the index knows (`'absent'` for none), nothing is replaced and
   * the result is false. Parent directories are created.
   */
  commit(path: string, expected: FileStat | 'absent' | 'any'): Promise<FileStat | false>
  discard(): Promise<void>
  /** Closes a part file (openPartial) and leaves it, so the download resumes later. */
  keep?(): Promise<void>
}

export function sameStat(a: FileStat | undefined, b: FileStat | undefined): boolean {
  if (!a || !b) return a === b
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino
}
