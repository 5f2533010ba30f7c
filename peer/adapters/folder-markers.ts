import { CloudsyncError } from '../../protocol/errors.ts'
import { FOLDER_MARKER, isFolderMarker, parentOf } from '../../protocol/paths.ts'
import { type FileStat, type ReadHandle, sameStat, type TempFile } from '../ports/file-system.ts'

/** What a file system adapter tells of its folders, for their markers. */
export interface FolderOps {
  /** The folder at `path`: its inode and whether it holds nothing at all; undefined for none. */
  folder(path: string): Promise<{ ino: number; empty: boolean } | undefined>
  /** Creates the folder and its parents; CONFLICT when a file is in the way. */
  makeFolder(path: string): Promise<void>
  /** Removes the folder if it is empty; false when it is not, or is no folder. */
  removeFolder(path: string): Promise<boolean>
}

/** A real file with the marker's name cannot be synced: the name stands for a folder. */
export const RESERVED_NAME = `its name (${FOLDER_MARKER}) is reserved for empty folders`

/**
 * The folder marker of every empty folder, as an adapter shows it (protocol/paths.ts
 * FOLDER_MARKER): present while its folder is empty, with the folder's inode and a fixed
 * size and mtime, so entries added and removed do not look like edits of it. Writing it
 * creates the folder, removing it removes the folder if still empty. It has no content
 * to lose, so a write never waits on a local edit of it.
 */
export class FolderMarkers {
  readonly #ops: FolderOps

  constructor(ops: FolderOps) {
    this.#ops = ops
  }

  static statFor(ino: number): FileStat {
    return { size: 0, mtimeMs: 0, ino }
  }

  async stat(marker: string): Promise<FileStat | undefined> {
    const folder = await this.#ops.folder(parentOf(marker))
    return folder?.empty ? FolderMarkers.statFor(folder.ino) : undefined
  }

  async openRead(marker: string): Promise<ReadHandle> {
    const stat = await this.stat(marker)
    if (!stat) throw new CloudsyncError('NOT_FOUND', `No empty folder at ${parentOf(marker)}`)
    return {
      stat,
      source: { readInto: async () => 0 },
      readRange: async (offset, length) => {
        if (offset + length > 0)
          throw new CloudsyncError('CONFLICT', `${marker} is shorter than ${offset + length} bytes`)
        return new Uint8Array(0)
      },
      close: async () => {},
    }
  }

  /** A temp file whose commit at a marker path makes the folder instead. */
  wrap(temp: TempFile): TempFile {
    return {
      ...temp,
      commit: async (path, expected) => {
        if (!isFolderMarker(path)) return temp.commit(path, expected)
        await temp.discard()
        const folder = parentOf(path)
        await this.#ops.makeFolder(folder)
        const made = await this.#ops.folder(folder)
        if (!made) throw new CloudsyncError('CONFLICT', `${folder} could not be made a folder`)
        return FolderMarkers.statFor(made.ino)
      },
    }
  }

  async remove(marker: string, expected?: FileStat): Promise<boolean> {
    const stat = await this.stat(marker)
    if (!stat || (expected && !sameStat(stat, expected))) return false
    return this.#ops.removeFolder(parentOf(marker))
  }

  /** An empty folder moved: made at the new path, removed at the old one. */
  async rename(from: string, to: string, expected?: FileStat): Promise<boolean> {
    if (!isFolderMarker(from) || !isFolderMarker(to)) return false
    const stat = await this.stat(from)
    if (!stat || (expected && !sameStat(stat, expected))) return false
    if (await this.#ops.folder(parentOf(to))) return false
    await this.#ops.makeFolder(parentOf(to))
    await this.#ops.removeFolder(parentOf(from))
    return true
  }
}
