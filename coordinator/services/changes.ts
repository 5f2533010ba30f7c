/**
 * The change log as devices see it: store rows to the protocol's Change, and publishing a
 * commit's changes on the bus once the transaction is committed (never before: a device
 * told about a change must be able to read it), without waiting for the bus.
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
 * instance, after the caller has answered (nothing here delays or fails a commit). If
 * they cannot be read back, the account's listeners are told to re-read the log instead.
 */
export function publishChanges(
  app: FastifyInstance,
  accountId: string,
  seqs: readonly number[],
): void {
  if (seqs.length === 0) return
  const first = Math.min(...seqs)
  const last = Math.max(...seqs)
  changesAfter(app.db, accountId, first - 1, last - first + 1).then(
    (page) => publishStoredChanges(app, accountId, page.changes),
    (err) => {
      app.log.warn({ err, accountId, seqs }, 'committed changes not read back; sending a resync')
      app.feed.resync(accountId)
    },
  )
}

/**
 * Publishes changes the caller has just committed (as it wrote them, so nothing is read
 * back), oldest first, through the feed's outbox (queued, never awaited).
 */
export function publishStoredChanges(
  app: FastifyInstance,
  accountId: string,
  changes: readonly LoggedChange[],
): void {
  for (const change of changes) {
    app.feed.publish(accountId, { type: 'change', change: toChange(change) })
    app.metrics.published.inc({ type: 'change' })
  }
}
