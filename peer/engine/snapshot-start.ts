/**
 * Starting from the account's current tree instead of its history (docs/DESIGN.md "Change
 * log and cursors"): a new device, or one far behind, reads what each file became between
 * its cursor and a snapshot cursor, applies that, and follows the log from there. Files
 * created and deleted meanwhile cost it nothing.
 */
import type { Change, SnapshotFile, SnapshotResponse } from '../../protocol/schemas/sync.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'

/** How far behind the head a device with a cursor may be before it takes a snapshot. */
export const SNAPSHOT_BEHIND_CHANGES = 1000

/** Whether a device at `cursor` should start from a snapshot rather than read the log. */
export function startsFromSnapshot(
  cursor: number,
  head: number,
  behindLimit = SNAPSHOT_BEHIND_CHANGES,
): boolean {
  return head > cursor && (cursor === 0 || head - cursor > behindLimit)
}

/**
 * Reads every page of one snapshot from cursor `since`; returns the snapshot's cursor. A
 * device that holds files asks for deletions too, even at cursor 0: files it uploaded
 * itself may have been deleted by others since.
 */
export async function readSnapshot(
  api: CoordinatorApi,
  since: number,
  onPage: (page: SnapshotResponse) => Promise<void>,
  signal?: AbortSignal,
  holdsFiles = since > 0,
): Promise<number> {
  const from = since > 0 || holdsFiles ? { since } : {}
  let page = await api.snapshot(from, signal)
  const at = page.at
  for (;;) {
    await onPage(page)
    if (page.next === undefined) return at
    page = await api.snapshot({ at, ...from, after: page.next }, signal)
  }
}

/**
 * The change that brings the device's copy of a file to the snapshot, as the applier takes
 * it: a move from where the device holds it, a write where it lives, or a deletion of the
 * device's copy; nothing for a deleted file the device never had. `heldAt` is the path
 * where the device's index holds the file.
 */
export function changeOf(
  file: SnapshotFile,
  at: number,
  heldAt: string | undefined,
): Change | undefined {
  const { deleted, chunks, ...rest } = file
  const base = { ...rest, seq: at }
  if (deleted) return heldAt === undefined ? undefined : { ...base, kind: 'deleted', path: heldAt }
  const content = { ...base, chunks: chunks ?? [] }
  if (heldAt !== undefined && heldAt !== file.path)
    return { ...content, kind: 'moved', fromPath: heldAt }
  return { ...content, kind: heldAt === undefined ? 'created' : 'modified' }
}
