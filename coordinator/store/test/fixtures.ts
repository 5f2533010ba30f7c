import { createHash } from 'node:crypto'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import type { Manifest } from '../../../protocol/manifest.ts'
import { accountDomain, createAccount } from '../accounts.ts'
import { commitSessionOrThrow } from '../commit.ts'
import type { Db } from '../db.ts'
import { createDevice, type Device } from '../devices.ts'
import type { CommitResult } from '../sessions.ts'
import { createSession, markChunksPresent, type UploadBase } from '../sessions.ts'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

/** A manifest whose chunk ids and hashes derive from `seed`: equal seeds, equal content. */
export function fakeManifest(seed: string, chunkCount = 2, shared: string[] = []): Manifest {
  const ids = [...shared, ...Array.from({ length: chunkCount }, (_, i) => sha(`${seed}/${i}`))]
  const chunks = ids.map((id, index) => ({
    index,
    id,
    offset: index * 100,
    size: 100,
    cipherSize: 116,
    seal: sha(`seal/${id}`),
  }))
  return { size: chunks.length * 100, hash: sha(`file/${ids.join()}`), chunks }
}

export interface TestAccount {
  accountId: string
  devices: Record<string, Device>
}

export async function newAccount(
  db: Db,
  now: Date,
  names = ['laptop', 'desktop'],
): Promise<TestAccount> {
  const { id: accountId } = await createAccount(db, now)
  const devices: Record<string, Device> = {}
  for (const name of names)
    devices[name] = (await createDevice(db, { accountId, name, now })).device
  return { accountId, devices }
}

export interface UploadSpec {
  accountId: string
  deviceId: string
  path: string
  base: UploadBase | null
  manifest: Manifest
  now: Date
}

/** The whole upload path: open a session, upload every chunk, complete. */
export async function upload(db: Db, u: UploadSpec): Promise<CommitResult> {
  const { session } = await createSession(db, {
    accountId: u.accountId,
    deviceId: u.deviceId,
    domain: accountDomain(u.accountId),
    path: u.path,
    base: u.base,
    manifest: u.manifest,
    now: u.now,
    ttlMs: 3_600_000,
  })
  const ids = u.manifest.chunks.map((c) => c.id)
  await markChunksPresent(db, session, ids, u.now)
  return commitSessionOrThrow(db, {
    accountId: u.accountId,
    deviceId: u.deviceId,
    sessionId: session.id,
    now: u.now,
  })
}

/** A clock for tests: each call is one second after the previous. */
export function ticker(start = Date.UTC(2025, 0, 2, 3, 4, 5)): () => Date {
  let t = start - 1000
  return () => {
    t += 1000
    return new Date(t)
  }
}

/** The CloudsyncError code a promise rejects with, or 'no error'. Other errors propagate. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (isCloudsyncError(err)) return err.code
    throw err
  }
  return 'no error'
}
