/**
 * What an upload still lacks, and where to put it. The store's chunk index says which
 * chunks the account may already reference; for the rest, the blob store is asked
 * (head), because a device may have PUT bytes the index has not heard of yet (the upload
 * ran, the coordinator restarted before complete). Bytes found there with the right size
 * are registered, so resuming re-sends only what never arrived; an object of another size
 * that is not the chunk (a PUT cut off) counts as missing and is replaced. Only the
 * account's own keys are asked (blobKeyOf): what another account PUT is never this account's.
 */

import { createHash } from 'node:crypto'
import { setImmediate } from 'node:timers/promises'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { ManifestChunk } from '../../protocol/manifest.ts'
import type { ChunkUpload } from '../../protocol/schemas/files.ts'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import type { BlobStore } from '../blobs/index.ts'
import { lockChunkBytes } from '../store/chunk-bytes.ts'
import { insertChunks, type NewChunk } from '../store/chunks.ts'
import type { Db } from '../store/index.ts'
import {
  missingChunks,
  openChallenges,
  type SessionChallenge,
  type UploadSession,
} from '../store/sessions.ts'

/** HEADs in flight at once: enough to hide S3 latency, few enough not to be throttled. */
const HEAD_CONCURRENCY = 32

/**
 * Calls mapLimit makes before it gives the event loop a turn. Calls that answer without
 * I/O (the local blob store's heads and presigns) chain as microtasks, and a manifest's
 * worth of them held every other request until the last.
 */
export const MAP_LIMIT_YIELD_EVERY = 64

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let sinceTurn = 0
  // While set, every worker waits for the event loop's next turn before its next call.
  let turn: Promise<void> | undefined
  const worker = async () => {
    while (next < items.length) {
      if (turn) {
        await turn
        continue
      }
      const i = next++
      results[i] = await fn(items[i]!)
      if (++sinceTurn >= MAP_LIMIT_YIELD_EVERY && !turn) {
        sinceTurn = 0
        turn = setImmediate().then(() => {
          turn = undefined
        })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export interface Probe {
  /** Distinct chunk ids whose bytes are stored with the manifest's size. */
  present: string[]
  /**
   * Indexes whose stored bytes are the chunk (they hash to its id) but have another size
   * than the manifest says: the manifest is wrong.
   */
  wrongSize: { index: number; stored: number; expected: number }[]
  /**
   * Indexes whose stored object is of another size and not the chunk at all (a PUT cut off
   * mid-body): missing, so the uploader sends the chunk again and its bytes replace it.
   */
  damaged: number[]
}

/** Asks the blob store (read only) about the account's uploads of chunks at `indexes`. */
export async function probeBlobs(
  blobs: BlobStore,
  accountId: string,
  chunks: readonly ManifestChunk[],
  indexes: readonly number[],
): Promise<Probe> {
  // One HEAD per distinct chunk id: a file may repeat a chunk.
  const firstIndex = new Map<string, number>()
  for (const index of indexes) {
    const id = chunks[index]!.id
    if (!firstIndex.has(id)) firstIndex.set(id, index)
  }
  const ids = [...firstIndex.keys()]
  const heads = await mapLimit(ids, HEAD_CONCURRENCY, (id) => blobs.head(blobKeyOf(accountId, id)))
  const probe: Probe = { present: [], wrongSize: [], damaged: [] }
  const mismatched: { id: string; index: number; stored: number; expected: number }[] = []
  ids.forEach((id, i) => {
    const head = heads[i]
    if (!head) return
    const index = firstIndex.get(id)!
    const expected = chunks[index]!.cipherSize
    if (head.size === expected) probe.present.push(id)
    else mismatched.push({ id, index, stored: head.size, expected })
  })
  // Rare (a crash mid-PUT, or a lying manifest): read the object to know which one is wrong.
  for (const { id, ...wrong } of mismatched) {
    if (await isChunk(blobs, blobKeyOf(accountId, id), id)) probe.wrongSize.push(wrong)
    else probe.damaged.push(wrong.index)
  }
  return probe
}

/** Whether the object stored under `key` is the chunk `id` itself: its bytes hash to the id. */
async function isChunk(blobs: BlobStore, key: string, id: string): Promise<boolean> {
  const bytes = await blobs.get(key).catch(() => undefined)
  return bytes !== undefined && createHash('sha256').update(bytes).digest('hex') === id
}

export interface SessionNeeds {
  /** Indexes to upload. */
  missing: number[]
  /** Chunks to prove possession of instead (global domain). */
  challenges: SessionChallenge[]
}

/**
 * What the session still needs: registers its chunks that are in the blob store though
 * the index lacks them, and answers the indexes still missing (challenged chunks are not
 * missing: they are proven, not uploaded) and the open challenges. Stored bytes of another
 * size are CHUNK_CORRUPT. The blob store is asked under the chunks' byte locks, in the
 * registering transaction, so the collector cannot delete bytes between the answer and
 * the registration.
 */
export async function reconcileChunks(
  db: Db,
  blobs: BlobStore,
  session: UploadSession,
  now: Date,
): Promise<SessionNeeds> {
  const challenges = await openChallenges(db, session)
  const missing = uploadableOf(session, challenges, await missingChunks(db, session))
  if (missing.length === 0) return { missing, challenges }
  const still = await db.transaction((tx) => registerStored(tx, blobs, session, missing, now))
  return { missing: still, challenges }
}

/** Of the `missing` indexes, those to upload: challenged chunks are proven instead. */
export function uploadableOf(
  session: UploadSession,
  challenges: readonly SessionChallenge[],
  missing: readonly number[],
): number[] {
  const { chunks } = session.manifest
  const challenged = new Set(challenges.map((c) => c.chunkId))
  return missing.filter((i) => !challenged.has(chunks[i]!.id))
}

/**
 * In `tx`: registers the chunks at the `missing` indexes that the blob store holds with
 * their manifest size, and answers the indexes still missing. The store is asked under
 * the chunks' byte locks (shared), held to the end of `tx`, so the collector cannot delete
 * bytes between the answer and the registration.
 */
export async function registerStored(
  tx: Db,
  blobs: BlobStore,
  session: UploadSession,
  missing: readonly number[],
  now: Date,
): Promise<number[]> {
  if (missing.length === 0) return []
  const { chunks } = session.manifest
  const ids = missing.map((i) => chunks[i]!.id)
  await lockChunkBytes(tx, ids, 'shared')
  const found = await storedChunks(blobs, session, missing)
  await insertChunks(tx, session.domain, session.accountId, found, now)
  const present = new Set(found.map((f) => f.id))
  return missing.filter((i) => !present.has(chunks[i]!.id))
}

/**
 * Of the chunks at the `missing` indexes, those the session's account stored with their
 * manifest size, to register. Stored bytes of another size are CHUNK_CORRUPT.
 */
export async function storedChunks(
  blobs: BlobStore,
  session: UploadSession,
  missing: readonly number[],
): Promise<NewChunk[]> {
  if (missing.length === 0) return []
  const { chunks } = session.manifest
  const probe = await probeBlobs(blobs, session.accountId, chunks, missing)
  assertSizesAgree(probe.wrongSize)
  // Sizes from the manifest: probeBlobs checked the stored bytes agree with them.
  const sizes = new Map(missing.map((i) => [chunks[i]!.id, chunks[i]!.cipherSize]))
  return probe.present.map((id) => ({ id, cipherSize: sizes.get(id)! }))
}

/** Presigned PUTs for the given indexes, carrying the chunk's checksum where supported. */
export async function presignUploads(
  blobs: BlobStore,
  session: UploadSession,
  indexes: readonly number[],
  expiresInSeconds: number,
): Promise<ChunkUpload[]> {
  return mapLimit(indexes, HEAD_CONCURRENCY, async (index) => {
    const chunk = session.manifest.chunks[index]!
    const key = blobKeyOf(session.accountId, chunk.id)
    const put = await blobs.presignPut(key, { size: chunk.cipherSize, expiresInSeconds })
    return { index, url: put.url, method: 'PUT' as const, headers: put.headers }
  })
}

/** A manifest whose sizes contradict bytes already stored under those ids is a lie. */
export function assertSizesAgree(wrongSize: Probe['wrongSize']): void {
  const first = wrongSize[0]
  if (!first) return
  throw new CloudsyncError(
    'CHUNK_CORRUPT',
    `chunks[${first.index}] is stored with ${first.stored} bytes, but the manifest says cipherSize ${first.expected}`,
    { field: `chunks[${first.index}].cipherSize`, indexes: wrongSize.map((w) => w.index) },
  )
}
