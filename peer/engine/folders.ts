import { folderMarkerOf, isFolderMarker, parentOf } from '../../protocol/paths.ts'
import type { SyncFileSystem } from '../ports/file-system.ts'
import type { SyncIndex } from '../ports/sync-index.ts'

/**
 * After `removed` (a file, or a folder's marker) left the folder, removes the folders
 * above it while each is empty and is not a synced empty folder (its marker in the index):
 * a remote delete or move takes the folders it emptied, as the device that made the change
 * no longer has them, and leaves those it kept empty.
 */
export async function pruneFolders(
  fs: SyncFileSystem,
  index: SyncIndex,
  removed: string,
): Promise<void> {
  // A marker's removal took its folder already: the parents are next.
  const start = parentOf(isFolderMarker(removed) ? parentOf(removed) : removed)
  for (let dir = start; dir !== ''; dir = parentOf(dir)) {
    const marker = folderMarkerOf(dir)
    if (index.getFile(marker) || index.getUpload(marker)) return
    if (!(await fs.removeFolder(dir))) return
  }
}

/**
 * The paths a watcher reported, with the folder markers they may have changed: an entry
 * that appears or goes can empty or fill its folder, and a folder made or removed brings
 * or takes its own marker.
 */
export function withFolderMarkers(paths: Iterable<string>): string[] {
  const out = new Set<string>()
  for (const path of paths) {
    out.add(path)
    if (isFolderMarker(path)) continue
    out.add(folderMarkerOf(path))
    const parent = parentOf(path)
    if (parent !== '') out.add(folderMarkerOf(parent))
  }
  return [...out]
}
