/**
 * Completing an upload: every challenged chunk (global domain) must be proven with a
 * valid proof of possession, and every other chunk must be in the blob store with its
 * manifest size; then the store commits in one transaction (version, chunk references, change log,
 * conflict copy), and only after that is the commit published on the bus. Completing a
 * committed session again answers the stored result and writes and publishes nothing.
 */

import type { FastifyInstance } from 'fastify'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { UploadCompleteRequest, UploadCompleteResponse } from '../../protocol/schemas/files.ts'
import type { AuthDevice } from '../plugins/auth.ts'
import { lockAccount } from '../store/accounts.ts'
import { grantChunkAccess } from '../store/chunks.ts'
import { type CommitResult, commitUpload } from '../store/commit.ts'
import { openChallenges } from '../store/sessions.ts'
import { publishChanges } from './changes.ts'
import { reconcileChunks } from './chunk-presence.ts'
import { checkProofs } from './possession.ts'
import { ownSession } from './uploads.ts'

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
  const session = await ownSession(app, device, sessionId)
  const now = app.now()
  if (session.result) return toCompleteResponse(session.result)
  if (session.state !== 'open' || session.expiresAt <= now) {
    throw new CloudsyncError('GONE', 'The upload session expired; start a new one')
  }
  // Proofs first: a refused proof writes nothing, not even chunk registrations.
  const proven = await checkProofs(app, await openChallenges(app.db, session), body.proofs ?? [])
  const { missing } = await reconcileChunks(app.db, app.blobs, session, now)
  if (missing.length > 0) {
    throw new CloudsyncError(
      'INCOMPLETE_UPLOAD',
      `${missing.length} chunk(s) are not in the store yet: upload them (GET /files/upload/${sessionId} gives fresh URLs)`,
      { missing },
    )
  }
  const commit = { accountId: device.accountId, deviceId: device.deviceId, sessionId, now }
  const result =
    proven.length === 0
      ? await commitUpload(app.db, commit)
      : await app.db.transaction(async (tx) => {
          // The account's lock first, as every commit takes it: then the grant's chunk locks.
          await lockAccount(tx, device.accountId)
          const ids = session.manifest.chunks.map((c) => c.id)
          await grantChunkAccess(tx, session.domain, device.accountId, proven, ids)
          return commitUpload(tx, commit)
        })
  app.metrics.commits.inc({ kind: result.kind })
  const seqs = result.conflictCopy ? [result.conflictCopy.seq, result.seq] : [result.seq]
  await publishChanges(app, device.accountId, seqs)
  return toCompleteResponse(result)
}
