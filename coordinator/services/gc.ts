/**
 * Garbage collection (issue 3): upload sessions past their expiry are expired (their
 * pending notices end), chunks unreferenced for the grace period leave the index, and
 * their bytes leave the blob store once no domain indexes them any more.
 *
 * Blob keys name the uploading account and the chunk id (blobKeyOf): the same key may back
 * chunk rows of several domains, so bytes go only when no chunk row of ANY domain is held
 * by that key and no open upload of that account names the id (store/chunk-bytes.ts). That decision and the delete happen under
 * the id's exclusive byte lock, which registration takes shared while it checks the blob
 * store, so bytes are never deleted between a registrant's check and its row.
 *
 * Several coordinator instances may run this at once: sessions are expired with
 * SKIP LOCKED (each exactly once), a chunk row is deleted only if still collectable under
 * its lock, and byte deletes are idempotent. Each run does bounded work.
 */
import type { FastifyBaseLogger } from 'fastify'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import type { BlobStore } from '../blobs/index.ts'
import type { Config } from '../config.ts'
import { bytesInUse, lockChunkBytes } from '../store/chunk-bytes.ts'
import { collectableChunks, deleteCollectableChunk, type StoredChunkRef } from '../store/chunks.ts'
import type { Db } from '../store/index.ts'
import { expireSessions, markSwept, unsweptSessions } from '../store/session-expiry.ts'
import { pruneRetiredVersions } from '../store/version-retention.ts'
import type { AccountFeed } from './account-feed.ts'
import { mapLimit } from './chunk-presence.ts'

/** What runGc needs; a FastifyInstance of the app has all of it. */
export interface GcDeps {
  db: Db
  blobs: BlobStore
  feed: Pick<AccountFeed, 'publish'>
  config: Pick<Config, 'gcGraceMs' | 'versionRetentionMs'>
  log: Pick<FastifyBaseLogger, 'warn'>
}

export interface GcLimits {
  /** Chunks (rows, and ids swept) looked at per run. */
  maxChunks: number
  /** Sessions expired, and swept, per run. */
  maxSessions: number
  /** Versions past the undelete window pruned per run. */
  maxVersions: number
}

export const DEFAULT_GC_LIMITS: GcLimits = { maxChunks: 1000, maxSessions: 200, maxVersions: 1000 }

export interface GcReport {
  expiredSessions: string[]
  /** Chunk rows removed from the index. */
  chunksCollected: number
  /** Blobs deleted: ids no domain indexes any more. */
  blobsDeleted: number
  sweptSessions: number
  /** Versions past the undelete window no longer kept (their chunks may go next). */
  versionsPruned: number
}

/** Deletes in flight at once: each holds a connection while its blob delete runs. */
const DELETE_CONCURRENCY = 4

export async function runGc(
  deps: GcDeps,
  now: Date,
  limits: GcLimits = DEFAULT_GC_LIMITS,
): Promise<GcReport> {
  const cutoff = new Date(now.getTime() - deps.config.gcGraceMs)
  const versionsPruned = await pruneRetiredVersions(
    deps.db,
    new Date(now.getTime() - deps.config.versionRetentionMs),
    now,
    limits.maxVersions,
  )
  const expired = await expireSessions(deps.db, now, limits.maxSessions)
  for (const s of expired.sessions) {
    deps.feed.publish(s.accountId, { type: 'pending-expired', sessionId: s.id })
  }

  // The chunks only the just-expired sessions held first, then the longest unreferenced.
  const seen = new Set<string>()
  const candidates: StoredChunkRef[] = []
  const oldest = await collectableChunks(deps.db, cutoff, limits.maxChunks)
  for (const ref of [...expired.orphanChunks, ...oldest]) {
    const key = `${ref.domain}\n${ref.id}`
    if (seen.has(key) || candidates.length >= limits.maxChunks) continue
    seen.add(key)
    candidates.push(ref)
  }
  const outcomes = await mapLimit(candidates, DELETE_CONCURRENCY, (ref) =>
    collectChunk(deps, ref, cutoff),
  )

  const report: GcReport = {
    expiredSessions: expired.sessionIds,
    chunksCollected: outcomes.filter((o) => o !== 'kept').length,
    blobsDeleted: outcomes.filter((o) => o === 'bytes').length,
    sweptSessions: 0,
    versionsPruned,
  }
  for (const s of await unsweptSessions(deps.db, limits.maxSessions, limits.maxChunks)) {
    const deleted = await mapLimit(s.chunkIds, DELETE_CONCURRENCY, (id) =>
      sweepBytes(deps, s.accountId, id),
    )
    report.blobsDeleted += deleted.filter(Boolean).length
    await markSwept(deps.db, s.sessionId, now)
    report.sweptSessions++
  }
  return report
}

/**
 * Removes a chunk row if it is still collectable, then its bytes if nothing else needs
 * them. The blob delete runs before the row's deletion commits, under the byte lock: if
 * the delete fails, the row comes back and a later run retries.
 */
async function collectChunk(
  deps: GcDeps,
  ref: StoredChunkRef,
  cutoff: Date,
): Promise<'kept' | 'row' | 'bytes'> {
  return deps.db.transaction(async (tx) => {
    await lockChunkBytes(tx, [ref.id], 'exclusive')
    if (!(await deleteCollectableChunk(tx, ref, cutoff))) return 'kept'
    if (await bytesInUse(tx, ref.owner, ref.id)) return 'row'
    await deps.blobs.delete(blobKeyOf(ref.owner, ref.id))
    return 'bytes'
  })
}

/**
 * Deletes bytes an expired session's device may have PUT without registering them,
 * unless some domain indexes them or an open upload of the account names the id.
 */
async function sweepBytes(deps: GcDeps, accountId: string, id: string): Promise<boolean> {
  const key = blobKeyOf(accountId, id)
  return deps.db.transaction(async (tx) => {
    await lockChunkBytes(tx, [id], 'exclusive')
    // Most ids of an abandoned upload were never PUT: a HEAD says so without a delete.
    if ((await bytesInUse(tx, accountId, id)) || !(await deps.blobs.head(key))) return false
    await deps.blobs.delete(key)
    return true
  })
}
