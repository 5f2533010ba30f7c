/**
 * Opening and resuming uploads (issue 3, "Upload"). Init checks the request before writing
 * anything, and a refused request leaves no session behind (one whose chunk sizes
 * contradict stored bytes is taken back before anyone sees it); it records the session,
 * answers the chunks the store lacks with presigned PUTs (and, in a global
 * domain, challenges for chunks other accounts stored: services/possession.ts), and tells the
 * account's online devices that an upload began (streaming sync: LAN peers may pull
 * chunks from the uploader before the cloud has them).
 */

import type { FastifyInstance } from 'fastify'
import { CHUNK_SIZE_CEILING } from '../../protocol/constants.ts'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import { type Manifest, validateManifest } from '../../protocol/manifest.ts'
import { validatePath } from '../../protocol/paths.ts'
import type {
  PendingUploadsResponse,
  UploadInitRequest,
  UploadInitResponse,
  UploadStatusResponse,
} from '../../protocol/schemas/files.ts'
import type { AuthDevice } from '../plugins/auth.ts'
import { accountDomain, GLOBAL_DOMAIN } from '../store/accounts.ts'
import { findChunks } from '../store/chunks.ts'
import { getFileByPath } from '../store/file-reads.ts'
import { assertNoPathClash } from '../store/path-clash.ts'
import {
  createSession,
  discardSession,
  getSession,
  listOpenSessions,
  openLoad,
  type UploadBase,
  type UploadSession,
} from '../store/sessions.ts'
import { assertSizesAgree, presignUploads, probeBlobs, reconcileChunks } from './chunk-presence.ts'
import { issueChallenges, toWireChallenges } from './possession.ts'

const encoder = new TextEncoder()

/** A path the account may write: protocol rules plus this coordinator's length limit. */
export function checkPath(app: FastifyInstance, raw: string, field = 'path'): string {
  const path = validatePath(raw)
  const bytes = encoder.encode(path).length
  if (bytes > app.config.limits.maxPathBytes) {
    throw new CloudsyncError(
      'INVALID_PATH',
      `${field} is ${bytes} bytes long; this coordinator allows ${app.config.limits.maxPathBytes}`,
      { field },
    )
  }
  return path
}

export function domainOf(app: FastifyInstance, accountId: string): string {
  return app.config.dedupDomain === 'global' ? GLOBAL_DOMAIN : accountDomain(accountId)
}

export async function initUpload(
  app: FastifyInstance,
  device: AuthDevice,
  body: UploadInitRequest,
): Promise<UploadInitResponse> {
  const { accountId } = device
  const path = checkPath(app, body.path)
  const { limits } = app.config
  const manifest: Manifest = validateManifest(
    { size: body.size, hash: body.hash, chunks: body.chunks },
    {
      maxFileSize: limits.maxFileSize,
      maxChunks: limits.maxChunks,
      maxChunkSize: CHUNK_SIZE_CEILING,
    },
  )
  // Early, so a device is not told to upload what cannot commit; the commit checks again.
  await assertNoPathClash(app.db, accountId, path)
  await assertRoomFor(app, device, manifest.chunks.length)
  const base = await resolveBase(app, accountId, path, body.baseVersion, body.baseFileId)
  const domain = domainOf(app, accountId)

  // In a shared domain, challenges for chunks other accounts stored are issued with the
  // session, so the index is read first; an account's own domain issues none, and the
  // session's own statement answers what the index lacks.
  const shared = domain === GLOBAL_DOMAIN
  const issued = shared
    ? await issueChallenges(
        app,
        { name: domain, shared },
        accountId,
        manifest,
        await findChunks(app.db, domain, accountId, [...new Set(manifest.chunks.map((c) => c.id))]),
      )
    : { challenges: [], wrongSize: [] }
  assertSizesAgree(issued.wrongSize)

  const now = app.now()
  const created = await createSession(app.db, {
    accountId,
    deviceId: device.deviceId,
    domain,
    path,
    base,
    manifest,
    now,
    ttlMs: app.config.uploadSessionTtlMs,
    challenges: issued.challenges,
  })
  const { session } = created
  const challenged = new Set(issued.challenges.map((c) => c.chunkId))
  const unknown = created.missing.filter((i) => !challenged.has(manifest.chunks[i]!.id))
  const probe = await probeBlobs(app.blobs, accountId, manifest.chunks, unknown).catch(
    (err: unknown) => {
      // The blob store being down must not stop an upload from starting: the chunks it may
      // hold are asked for again (a PUT of the same bytes is harmless), and complete checks.
      if (!isCloudsyncError(err, 'UNAVAILABLE')) throw err
      app.log.warn(
        { err, sessionId: session.id },
        'blob store unreachable at init; asking for every unknown chunk',
      )
      return { present: [], wrongSize: [], damaged: [] }
    },
  )
  if (probe.wrongSize.length > 0) {
    // Nobody has seen the session yet: taking it back leaves things as they were.
    await discardSession(app.db, session.id)
    assertSizesAgree(probe.wrongSize)
  }
  // Bytes already stored are registered under their byte locks (reconcile asks again there).
  const missing =
    probe.present.length > 0
      ? (await reconcileChunks(app.db, app.blobs, session, now)).missing
      : unknown
  app.metrics.uploadsInitiated.inc()
  app.metrics.chunksRequested.inc(missing.length)
  announcePending(app, session)
  return {
    sessionId: session.id,
    missing,
    uploads: await presignUploads(app.blobs, session, missing, app.config.presignTtlSeconds),
    expiresAt: session.expiresAt.toISOString(),
    ...(issued.challenges.length > 0 && { challenges: toWireChallenges(issued.challenges) }),
  }
}

/**
 * One device cannot hold unbounded upload sessions, nor one account unbounded session
 * chunk rows: past either limit, init is TOO_MANY (429) and writes nothing. A soft limit:
 * concurrent inits may each pass it once.
 */
async function assertRoomFor(app: FastifyInstance, device: AuthDevice, chunks: number) {
  const { maxOpenSessionsPerDevice, maxPendingChunksPerAccount } = app.config.limits
  const load = await openLoad(app.db, device.accountId, device.deviceId, app.now())
  if (load.deviceSessions >= maxOpenSessionsPerDevice) {
    throw new CloudsyncError(
      'TOO_MANY',
      `This device has ${load.deviceSessions} upload sessions open; the limit is ${maxOpenSessionsPerDevice}: complete them or let them expire`,
      { limit: maxOpenSessionsPerDevice, open: load.deviceSessions },
    )
  }
  if (load.accountChunks + chunks > maxPendingChunksPerAccount) {
    throw new CloudsyncError(
      'TOO_MANY',
      `The account's open uploads hold ${load.accountChunks} chunks; ${chunks} more would pass the limit of ${maxPendingChunksPerAccount}`,
      { limit: maxPendingChunksPerAccount, open: load.accountChunks, requested: chunks },
    )
  }
}

/**
 * What the upload was based on. A base newer than the file's current version cannot
 * come from this coordinator: refused. An older one is fine: the upload wins the path and
 * the version it did not see becomes a conflict copy at complete.
 */
async function resolveBase(
  app: FastifyInstance,
  accountId: string,
  path: string,
  baseVersion: number | null,
  baseFileId: string | undefined,
): Promise<UploadBase | null> {
  if (baseVersion === null) return null
  const current = await getFileByPath(app.db, accountId, path)
  // Based on another file than the one now at the path (moved away, another created
  // here since): the upload displaces this one, which is kept as a conflict copy.
  if (baseFileId !== undefined && current?.id !== baseFileId)
    return { fileId: baseFileId, version: baseVersion }
  if (current && baseVersion > current.version) {
    throw new CloudsyncError(
      'STALE_BASE',
      `baseVersion ${baseVersion} is newer than ${path}'s current version ${current.version}`,
      { field: 'baseVersion', fileId: current.id, currentVersion: current.version },
    )
  }
  // Pinning the file id keeps a different file created later at this path from passing
  // for the base. Without a live file (deleted meanwhile), the store finds it by path.
  return { fileId: current?.id ?? null, version: baseVersion }
}

function announcePending(app: FastifyInstance, session: UploadSession): void {
  app.feed.publish(session.accountId, {
    type: 'pending',
    sessionId: session.id,
    path: session.path,
    deviceId: session.deviceId,
    manifest: session.manifest,
    expiresAt: session.expiresAt.toISOString(),
    base: session.base,
  })
  app.metrics.published.inc({ type: 'pending' })
}

/**
 * A session of the caller's account, whichever of its devices opened it: any of them may
 * resume or finish it on the uploader's behalf (docs/LAN-FIRST.md "Takeover").
 */
export async function accountSession(
  app: FastifyInstance,
  device: AuthDevice,
  sessionId: string,
): Promise<UploadSession> {
  // Scoped by account: another account's session is indistinguishable from none.
  const session = await getSession(app.db, device.accountId, sessionId)
  if (!session) throw new CloudsyncError('NOT_FOUND', `No upload session ${sessionId}`)
  return session
}

/** `GET /files/uploads`: the account's open upload sessions, for devices that missed their notices. */
export async function pendingUploads(
  app: FastifyInstance,
  device: AuthDevice,
): Promise<PendingUploadsResponse> {
  const sessions = await listOpenSessions(app.db, device.accountId, app.now())
  return {
    uploads: sessions.map((s) => ({
      sessionId: s.id,
      path: s.path,
      deviceId: s.deviceId,
      ...s.manifest,
      base: s.base,
      expiresAt: s.expiresAt.toISOString(),
    })),
  }
}

/** Resume: what is still missing (the blob store is asked again) and fresh URLs. */
export async function uploadStatus(
  app: FastifyInstance,
  device: AuthDevice,
  sessionId: string,
): Promise<UploadStatusResponse> {
  const session = await accountSession(app, device, sessionId)
  const now = app.now()
  const expiresAt = session.expiresAt.toISOString()
  const done = { sessionId, missing: [], uploads: [], expiresAt }
  if (session.state === 'committed') return { ...done, state: 'committed' }
  if (session.state === 'expired' || session.expiresAt <= now) return { ...done, state: 'expired' }
  const { missing, challenges } = await reconcileChunks(app.db, app.blobs, session, now)
  return {
    sessionId,
    missing,
    uploads: await presignUploads(app.blobs, session, missing, app.config.presignTtlSeconds),
    expiresAt,
    state: 'open',
    ...(challenges.length > 0 && { challenges: toWireChallenges(challenges) }),
  }
}
