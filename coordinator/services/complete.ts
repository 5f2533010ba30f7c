/**
 * Completing an upload: every challenged chunk (global domain) must be proven with a
 * valid proof of possession, and every other chunk must be in the blob store with its
 * manifest size; then the store commits in one transaction (chunks found in the blob
 * store registered, version, chunk references, change log, conflict copy), and only after
 * that is the commit published on the bus. Completing a committed session again answers
 * the stored result and writes and publishes nothing.
 */

import type { FastifyInstance } from 'fastify'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { UploadCompleteRequest, UploadCompleteResponse } from '../../protocol/schemas/files.ts'
import type { AuthDevice } from '../plugins/auth.ts'
import { accountDomain, lockAccount } from '../store/accounts.ts'
import { grantChunkAccess } from '../store/chunks.ts'
import { commitSession } from '../store/commit.ts'
import type { CommitResult } from '../store/sessions.ts'
import { openChallenges, sessionWithMissing } from '../store/sessions.ts'
import { publishStoredChanges } from './changes.ts'
import { registerStored, storedChunks, uploadableOf } from './chunk-presence.ts'
import { checkProofs } from './possession.ts'

export function toCompleteResponse(r: CommitResult): UploadCompleteResponse {
  return {
    fileId: r.fileId,
    version: r.version,
    path: r.path,
    state: 'committed',
    ...(r.conflictCopy && {
      conflict: {
        fileId: r.conflictCopy.fileId,
        path: r.conflictCopy.path,
        version: r.conflictCopy.version,
      },
    }),
  }
}

export async function completeUpload(
  app: FastifyInstance,
  device: AuthDevice,
  sessionId: string,
  body: UploadCompleteRequest = {},
): Promise<UploadCompleteResponse> {
  const { accountId } = device
  // The session, what it lacks and the byte-lock barrier in one read (see there).
  const found = await sessionWithMissing(app.db, accountId, sessionId)
  // Scoped by account: another account's session is indistinguishable from none.
  if (!found) throw new CloudsyncError('NOT_FOUND', `No upload session ${sessionId}`)
  const { session } = found
  // Any device of the account may finish it, on the uploader's behalf: the commit is the
  // uploader's, with its base and its conflict semantics (docs/LAN-FIRST.md "Takeover").
  const author = session.deviceId
  const now = app.now()
  if (session.result) return toCompleteResponse(session.result)
  if (session.state !== 'open' || session.expiresAt <= now) {
    throw new CloudsyncError('GONE', 'The upload session expired; start a new one')
  }
  // Proofs first: a refused proof writes nothing, not even chunk registrations.
  const challenges = await openChallenges(app.db, session)
  const proven = await checkProofs(app, challenges, body.proofs ?? [])
  const uploadable = uploadableOf(session, challenges, found.missing)
  const commit = { accountId, deviceId: author, sessionId, now, session }
  // Chunk rows of a shared domain record whose upload holds the bytes, which the commit
  // function does not: found chunks are registered here (insertChunks), as proofs are.
  const shared = session.domain !== accountDomain(accountId)
  const outcome =
    proven.length > 0 || shared
      ? await app.db.transaction(async (tx) => {
          const missing = await registerStored(tx, app.blobs, session, uploadable, now)
          // What was found stays registered (the transaction commits): a resume re-sends less.
          if (missing.length > 0) return { missing }
          // The account's lock first, as every commit takes it: then the grant's chunk locks.
          await lockAccount(tx, accountId)
          const ids = session.manifest.chunks.map((c) => c.id)
          await grantChunkAccess(tx, session.domain, accountId, proven, ids)
          return commitSession(tx, commit)
        })
      : // The common case, in one more round trip: found chunks registered by the commit.
        await commitSession(app.db, {
          ...commit,
          found: await storedChunks(app.blobs, session, uploadable),
        })
  if ('missing' in outcome) {
    const { missing } = outcome
    throw new CloudsyncError(
      'INCOMPLETE_UPLOAD',
      `${missing.length} chunk(s) are not in the store yet: upload them (GET /files/upload/${sessionId} gives fresh URLs)`,
      { missing },
    )
  }
  app.metrics.commits.inc({ kind: outcome.result.kind })
  publishStoredChanges(app, accountId, outcome.changes)
  return toCompleteResponse(outcome.result)
}
