import { isCloudsyncError } from '../../protocol/errors.ts'
import type { Change } from '../../protocol/schemas/sync.ts'

/** The paths a change touches: its own, and the one it moved from. */
export const pathsOf = (change: Change): string[] =>
  change.fromPath ? [change.path, change.fromPath] : [change.path]

/** The same path, or one inside the other (a file and a folder of the same name). */
export function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)
}

/** A source that failed, not the change: the same change can be applied later. */
export function isRetryable(err: unknown): boolean {
  return isCloudsyncError(err, 'UNAVAILABLE') || isCloudsyncError(err, 'BUSY')
}
