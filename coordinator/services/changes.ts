/**
 * The change log as devices see it: store rows to the protocol's Change, and publishing a
 * commit's changes on the bus once the transaction is committed (never before: a device
 * told about a change must be able to read it).
 */

import type { FastifyInstance } from 'fastify'
import type { Change } from '../../protocol/schemas/sync.ts'
import { changesAfter, type LoggedChange } from '../store/changes.ts'

export function toChange(c: LoggedChange): Change {
  return {
    seq: c.seq,
    kind: c.kind,
    fileId: c.fileId,
    path: c.path,
    ...(c.fromPath !== null && { fromPath: c.fromPath }),
    version: c.version,
    size: c.size,
    hash: c.hash,
    ...(c.manifest && { chunks: c.manifest.chunks }),
    deviceId: c.deviceId,
    committedAt: c.committedAt.toISOString(),
    ...(c.conflictOf && { conflictOf: { fileId: c.conflictOf.fileId, path: c.conflictOf.path } }),
  }
}

/**
 * Publishes the account's changes with seq in [first, last] to every device, on every
 * instance. A failure is logged, not thrown: the commit stands, and devices catch up
 * through their cursors (the bus is at-most-once anyway).
 */
export async function publishChanges(
  app: FastifyInstance,
  accountId: string,
  seqs: readonly number[],
): Promise<void> {
  if (seqs.length === 0) return
  const first = Math.min(...seqs)
  const last = Math.max(...seqs)
  try {
    const page = await changesAfter(app.db, accountId, first - 1, last - first + 1)
    for (const change of page.changes) {
      await app.feed.publish(accountId, { type: 'change', change: toChange(change) })
      app.metrics.published.inc({ type: 'change' })
    }
  } catch (err) {
    app.log.error({ err, accountId, seqs }, 'publishing changes failed; devices will poll')
  }
}

/**
 * Publishes changes the caller has just committed (as it wrote them, so nothing is read
 * back), oldest first. Failures are logged, as in publishChanges.
 */
export async function publishStoredChanges(
  app: FastifyInstance,
  accountId: string,
  changes: readonly LoggedChange[],
): Promise<void> {
  try {
    for (const change of changes) {
      await app.feed.publish(accountId, { type: 'change', change: toChange(change) })
      app.metrics.published.inc({ type: 'change' })
    }
  } catch (err) {
    const seqs = changes.map((c) => c.seq)
    app.log.error({ err, accountId, seqs }, 'publishing changes failed; devices will poll')
  }
}
