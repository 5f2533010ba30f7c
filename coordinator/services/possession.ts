/**
 * Proof of possession in a global dedup domain (docs/DESIGN.md "Chunks, dedup, encryption"):
 * a chunk another account uploaded is not listed as missing (uploading it again would
 * waste the dedup), nor granted for knowing its id (the "Dropship" attack). Instead the
 * upload answer carries a challenge for it, a fresh nonce and a random range of its
 * ciphertext, remembered with the session; complete reads that range from the blob store
 * and checks the device's HMAC over it before the account may reference the chunk.
 */
import type { FastifyInstance } from 'fastify'
import { challengeFor, verifyPossession } from '../../protocol/crypto/possession.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { Challenge, UploadCompleteRequest } from '../../protocol/schemas/files.ts'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import { unprovenChunks } from '../store/chunks.ts'
import type { OpenChallenge, SessionChallenge } from '../store/sessions.ts'
import { mapLimit } from './chunk-presence.ts'

/** Range reads in flight at once while checking proofs. */
const READ_CONCURRENCY = 16

export interface IssuedChallenges {
  challenges: SessionChallenge[]
  /** Indexes whose manifest size contradicts the indexed chunk (a lie, or corruption). */
  wrongSize: { index: number; stored: number; expected: number }[]
}

/**
 * Challenges for the manifest's chunks indexed in the (shared) domain that the account may
 * not reference yet, one per distinct chunk at its first index. `known` are the ids the
 * account may already reference. In an account's own domain nothing is ever challenged.
 */
export async function issueChallenges(
  app: FastifyInstance,
  domain: { name: string; shared: boolean },
  accountId: string,
  manifest: Manifest,
  known: ReadonlySet<string>,
): Promise<IssuedChallenges> {
  const issued: IssuedChallenges = { challenges: [], wrongSize: [] }
  if (!domain.shared) return issued
  const ids = [...new Set(manifest.chunks.map((c) => c.id))].filter((id) => !known.has(id))
  if (ids.length === 0) return issued
  const unproven = await unprovenChunks(app.db, domain.name, accountId, ids)
  const seen = new Set<string>()
  for (const chunk of manifest.chunks) {
    const stored = unproven.get(chunk.id)
    if (stored === undefined || seen.has(chunk.id)) continue
    seen.add(chunk.id)
    if (stored !== chunk.cipherSize) {
      issued.wrongSize.push({ index: chunk.index, stored, expected: chunk.cipherSize })
      continue
    }
    issued.challenges.push({ index: chunk.index, chunkId: chunk.id, ...challengeFor(stored) })
  }
  return issued
}

/** The wire form (the chunk id is the manifest's business, not repeated here). */
export function toWireChallenges(challenges: readonly SessionChallenge[]): Challenge[] {
  return challenges.map(({ index, nonce, offset, length }) => ({ index, nonce, offset, length }))
}

/**
 * Checks a proof for every open challenge against the stored bytes, and answers the
 * chunk ids proven. A missing or wrong proof is FORBIDDEN naming the chunk's index; all
 * proofs are looked for before any byte is read.
 */
export async function checkProofs(
  app: FastifyInstance,
  challenges: readonly OpenChallenge[],
  proofs: NonNullable<UploadCompleteRequest['proofs']>,
): Promise<string[]> {
  if (challenges.length === 0) return []
  const answers = new Map(proofs.map((p) => [p.index, p.response]))
  const unanswered = challenges.filter((c) => !answers.has(c.index))
  if (unanswered.length > 0) {
    const first = unanswered[0]!
    throw new CloudsyncError(
      'FORBIDDEN',
      `chunks[${first.index}] is stored by another account: prove you hold it (answer its challenge in proofs)`,
      { field: 'proofs', index: first.index, indexes: unanswered.map((c) => c.index) },
    )
  }
  const valid = await mapLimit(challenges, READ_CONCURRENCY, async (c) => {
    const range = await app.blobs.getRange(blobKeyOf(c.owner, c.chunkId), c.offset, c.length)
    return verifyPossession(c.nonce, range, answers.get(c.index)!)
  })
  const wrong = challenges.filter((_, i) => !valid[i])
  if (wrong.length > 0) {
    const first = wrong[0]!
    throw new CloudsyncError(
      'FORBIDDEN',
      `chunks[${first.index}]: the proof of possession does not match the stored bytes`,
      { field: 'proofs', index: first.index, indexes: wrong.map((c) => c.index) },
    )
  }
  return challenges.map((c) => c.chunkId)
}
