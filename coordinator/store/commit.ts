import { randomUUID } from 'node:crypto'
import { CloudsyncError } from '../../protocol/errors.ts'
import { lockAccount } from './accounts.ts'
import type { LoggedChange } from './changes.ts'
import type { NewChunk } from './chunks.ts'
import type { Db } from './db.ts'
import { json } from './db.ts'
import { type FileRecord, getFileByPath } from './file-reads.ts'
import { type ConflictCopy, preserveConflictCopy } from './file-versions.ts'
import { pathClashError } from './path-clash.ts'
import { type CommitResult, getSession, type UploadBase, type UploadSession } from './sessions.ts'

export interface CommitSessionInput {
  accountId: string
  deviceId: string
  sessionId: string
  now: Date
  /** The session, when the caller has read it already (its manifest never changes). */
  session?: UploadSession
  /** Chunks of the session the caller found in the blob store, registered by the commit. */
  found?: NewChunk[]
}

export type CommitOutcome =
  | { result: CommitResult; changes: LoggedChange[] }
  /** Manifest indexes still lacking; the found chunks stay registered. */
  | { missing: number[] }

/**
 * Commits an upload session as the new version at its path, in one transaction
 * (docs/DESIGN.md "Conflicts"): the last write wins the path; a current version the upload
 * was not based on is first kept as a conflict copy; an upload based on a file deleted
 * meanwhile re-creates it (an edit beats a concurrent delete). Completing a committed
 * session again answers the stored result and writes nothing. INCOMPLETE_UPLOAD when
 * chunks are still missing (commitSession answers those instead).
 */
export async function commitSessionOrThrow(db: Db, c: CommitSessionInput): Promise<CommitResult> {
  const outcome = await commitSession(db, c)
  if ('missing' in outcome) {
    const { missing } = outcome
    throw new CloudsyncError('INCOMPLETE_UPLOAD', `${missing.length} chunk(s) are missing`, {
      missing,
    })
  }
  return outcome.result
}

/**
 * Commits an upload session (as commitSessionOrThrow), answering the changes it logged too
 * (oldest first; none when the session was committed before), so the caller can publish
 * them without reading them back, or the indexes still missing. One round trip (the commit_upload function, migration 003) unless
 * the upload displaces a version: then the copy is preserved and the commit made in one
 * transaction.
 */
export async function commitSession(db: Db, c: CommitSessionInput): Promise<CommitOutcome> {
  const answer = await callCommit(db, c, null)
  if (answer.status !== 'conflict') return settle(db, c, answer, null)
  return db.transaction(async (tx) => {
    // The account's lock first, then the latest version at the path, as a statement of its
    // own: it must see the latest commit.
    await lockAccount(tx, c.accountId)
    const session = await sessionOf(tx, c)
    const current = await getFileByPath(tx, c.accountId, session.path)
    // Under the lock nobody else writes the path or completes the session: the copy is of
    // the version the commit below displaces, and only made if that commit will run.
    const copy =
      session.state === 'open' && current && displaces(session, current)
        ? await preserveConflictCopy(tx, current, c.deviceId, c.now)
        : null
    const again = await callCommit(tx, { ...c, found: [] }, copy)
    if (again.status === 'conflict') throw new Error('commit_upload saw a conflict twice')
    const changes = copy && current ? [copyChange(copy, current, c)] : []
    return settle(tx, { ...c, session }, again, changes)
  })
}

/** What commit_upload answers (see the migration). */
type CommitAnswer =
  | { status: 'committed' | 'done'; result: CommitResult }
  | { status: 'missing'; missing: number[] }
  | { status: 'clash'; path: string; clashesWith: string }
  | { status: 'collected'; missingChunkIds: string[] }
  | { status: 'not_found' | 'forbidden' | 'gone' | 'conflict' }

async function callCommit(
  db: Db,
  c: CommitSessionInput,
  copy: ConflictCopy | null,
): Promise<CommitAnswer> {
  const found = c.found ?? []
  const { rows } = await db.query<{ answer: CommitAnswer }>(
    'SELECT commit_upload($1, $2, $3, $4, $5::text[], $6::bigint[], $7, $8::jsonb) AS answer',
    [
      c.accountId,
      c.deviceId,
      c.sessionId,
      c.now,
      found.map((f) => f.id),
      found.map((f) => f.cipherSize),
      randomUUID(),
      copy && json(copy),
    ],
  )
  return rows[0]!.answer
}

/** The outcome of an answer other than 'conflict': errors thrown, changes built. */
async function settle(
  db: Db,
  c: CommitSessionInput,
  answer: CommitAnswer,
  earlier: LoggedChange[] | null,
): Promise<CommitOutcome> {
  switch (answer.status) {
    case 'not_found':
      throw new CloudsyncError('NOT_FOUND', `No upload session ${c.sessionId}`)
    case 'forbidden':
      throw new CloudsyncError('FORBIDDEN', 'The upload session belongs to another device')
    case 'gone':
      throw new CloudsyncError('GONE', 'The upload session expired; start a new one')
    case 'collected':
      throw new CloudsyncError(
        'INCOMPLETE_UPLOAD',
        `${answer.missingChunkIds.length} chunk(s) are no longer stored`,
        { missingChunkIds: answer.missingChunkIds },
      )
    case 'clash':
      throw pathClashError(answer.path, answer.clashesWith)
    case 'missing':
      return { missing: answer.missing }
    case 'done':
      return { result: answer.result, changes: [] }
    case 'committed': {
      const { result } = answer
      const { manifest } = c.session ?? (await sessionOf(db, c))
      const change: LoggedChange = {
        seq: result.seq,
        kind: result.kind,
        fileId: result.fileId,
        path: result.path,
        fromPath: null,
        version: result.version,
        size: manifest.size,
        hash: manifest.hash,
        manifest,
        deviceId: c.deviceId,
        committedAt: c.now,
        conflictOf: null,
      }
      return { result, changes: [...(earlier ?? []), change] }
    }
    case 'conflict':
      throw new Error('a conflict is settled by commitSession')
  }
}

async function sessionOf(db: Db, c: CommitSessionInput): Promise<UploadSession> {
  const session = await getSession(db, c.accountId, c.sessionId)
  if (!session) throw new CloudsyncError('NOT_FOUND', `No upload session ${c.sessionId}`)
  return session
}

/** The change preserveConflictCopy logged, as changesAfter would read it. */
function copyChange(
  copy: ConflictCopy,
  displaced: FileRecord,
  c: CommitSessionInput,
): LoggedChange {
  return {
    seq: copy.seq,
    kind: 'created',
    fileId: copy.fileId,
    path: copy.path,
    fromPath: null,
    version: copy.version,
    size: displaced.size,
    hash: displaced.hash,
    manifest: displaced.manifest,
    deviceId: c.deviceId,
    committedAt: c.now,
    conflictOf: { fileId: displaced.id, version: displaced.version, path: displaced.path },
  }
}

/**
 * Whether writing the upload would replace content its writer never saw. Identical
 * content is not worth a copy: nothing would be lost.
 */
function displaces(session: UploadSession, current: FileRecord): boolean {
  if (isBasedOn(session.base, current)) return false
  return current.hash !== session.manifest.hash || current.size !== session.manifest.size
}

function isBasedOn(base: UploadBase | null, current: FileRecord): boolean {
  if (!base) return false
  return base.version === current.version && (base.fileId === null || base.fileId === current.id)
}
