import { describe, expect, it } from 'vitest'
import { accountDomain, GLOBAL_DOMAIN } from '../accounts.ts'
import {
  collectableChunks,
  deleteCollectableChunk,
  findChunks,
  getChunk,
  registerChunks,
  releaseChunkRefs,
} from '../chunks.ts'
import { commitSessionOrThrow } from '../commit.ts'
import type { Db } from '../db.ts'
import {
  createSession,
  expireSessions,
  getSession,
  markChunksPresent,
  SESSION_CHUNK_BATCH,
} from '../sessions.ts'
import { errorCode, fakeManifest, newAccount, ticker, upload } from './fixtures.ts'

const HOUR = 3_600_000

export function uploadsContract(db: () => Db): void {
  describe('upload sessions, chunks and collection', () => {
    const now = ticker(Date.UTC(2025, 1, 1))

    it('answers missing chunks, fills them in, and dedups against stored ones', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      const manifest = fakeManifest('dedup', 3)
      const base = {
        accountId,
        deviceId,
        domain: accountDomain(accountId),
        path: 'a.bin',
        base: null,
        ttlMs: HOUR,
      }
      const first = await createSession(db(), { ...base, manifest, now: now() })
      expect(first.missing).toEqual([0, 1, 2])
      expect(first.session).toMatchObject({ state: 'open', base: null, result: null, manifest })

      const ids = manifest.chunks.map((c) => c.id)
      expect(
        await markChunksPresent(db(), first.session, [ids[1]!, 'f'.repeat(64)], now()),
      ).toEqual([0, 2])
      expect(await markChunksPresent(db(), first.session, ids, now())).toEqual([])

      const second = await createSession(db(), {
        ...base,
        manifest: fakeManifest('dedup', 4),
        now: now(),
      })
      expect(second.missing).toEqual([3])
    })

    it('writes a manifest larger than one batch whole, and answers the lacking chunks of every batch', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const base = {
        accountId,
        deviceId: devices.laptop!.id,
        domain: accountDomain(accountId),
        path: 'big.bin',
        base: null,
        ttlMs: HOUR,
      }
      const count = SESSION_CHUNK_BATCH * 2 + 7
      const stored = fakeManifest('batch', count)
      const small = await createSession(db(), {
        ...base,
        manifest: { ...stored, chunks: stored.chunks.slice(0, 1) },
        now: now(),
      })
      // Stored: chunk 0, and one in each later batch (the last batch's last chunk too).
      const present = [0, SESSION_CHUNK_BATCH + 3, count - 1]
      const ids = present.map((i) => stored.chunks[i]!.id)
      await registerChunks(
        db(),
        base.domain,
        accountId,
        ids.map((id) => ({ id, cipherSize: 116 })),
        now(),
      )
      expect(small.missing).toEqual([0])

      const big = await createSession(db(), { ...base, manifest: stored, now: now() })
      const expected = stored.chunks.map((c) => c.index).filter((i) => !present.includes(i))
      expect(big.missing).toEqual(expected)
      const { rows } = await db().query<{ n: number }>(
        'SELECT count(*)::int AS n FROM session_chunks WHERE session_id = $1',
        [big.session.id],
      )
      expect(rows[0]!.n).toBe(count)
    })

    it('refuses to complete while chunks are missing, and after expiry', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      const t0 = now()
      const { session } = await createSession(db(), {
        accountId,
        deviceId,
        domain: accountDomain(accountId),
        path: 'late.txt',
        base: null,
        manifest: fakeManifest('late'),
        now: t0,
        ttlMs: HOUR,
      })
      const complete = (at: Date, by = deviceId) =>
        commitSessionOrThrow(db(), { accountId, deviceId: by, sessionId: session.id, now: at })
      expect(await errorCode(complete(t0))).toBe('INCOMPLETE_UPLOAD')
      await markChunksPresent(
        db(),
        session,
        session.manifest.chunks.map((c) => c.id),
        t0,
      )
      expect(await errorCode(complete(t0, devices.desktop!.id))).toBe('FORBIDDEN')
      expect(await errorCode(complete(new Date(t0.getTime() + HOUR)))).toBe('GONE')
      expect((await getSession(db(), accountId, session.id))?.state).toBe('open')
    })

    it('lets an account use a global-domain chunk only after proving it holds it', async () => {
      const a = await newAccount(db(), now())
      const b = await newAccount(db(), now())
      const id = 'a'.repeat(63) + a.accountId.slice(-1)
      await registerChunks(db(), GLOBAL_DOMAIN, a.accountId, [{ id, cipherSize: 116 }], now())
      expect(await findChunks(db(), GLOBAL_DOMAIN, a.accountId, [id])).toEqual(new Set([id]))
      expect(await findChunks(db(), GLOBAL_DOMAIN, b.accountId, [id])).toEqual(new Set())
      await registerChunks(db(), GLOBAL_DOMAIN, b.accountId, [{ id, cipherSize: 116 }], now())
      expect(await findChunks(db(), GLOBAL_DOMAIN, b.accountId, [id])).toEqual(new Set([id]))
      // An account's own domain is private to it.
      expect(await findChunks(db(), accountDomain(a.accountId), b.accountId, [id])).toEqual(
        new Set(),
      )
    })

    it('counts one reference per file version, and collects only what stays unreferenced', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      const domain = accountDomain(accountId)
      const v1 = fakeManifest('gc-v1', 2)
      const shared = v1.chunks[0]!.id
      const first = await upload(db(), {
        accountId,
        deviceId,
        path: 'gc.txt',
        base: null,
        manifest: v1,
        now: now(),
      })
      const v2 = fakeManifest('gc-v2', 1, [shared])
      await upload(db(), {
        accountId,
        deviceId,
        path: 'gc.txt',
        base: { fileId: first.fileId, version: 1 },
        manifest: v2,
        now: now(),
      })
      expect((await getChunk(db(), domain, shared))?.refcount).toBe(2)
      expect((await getChunk(db(), domain, v1.chunks[1]!.id))?.refcount).toBe(1)

      // An abandoned upload: its chunk is stored but never committed.
      const t0 = now()
      const abandoned = await createSession(db(), {
        accountId,
        deviceId,
        domain,
        path: 'gone.txt',
        base: null,
        manifest: fakeManifest('abandoned', 1),
        now: t0,
        ttlMs: HOUR,
      })
      const orphan = abandoned.session.manifest.chunks[0]!.id
      await markChunksPresent(db(), abandoned.session, [orphan], t0)
      const later = new Date(t0.getTime() + 2 * HOUR)
      const mine = async () =>
        (await collectableChunks(db(), later, 10_000))
          .filter((c) => c.domain === domain)
          .map((c) => c.id)
      expect(await mine()).toEqual([]) // still in an open session

      const expired = await expireSessions(db(), later)
      expect(expired.sessionIds).toContain(abandoned.session.id)
      expect(expired.orphanChunks).toContainEqual(expect.objectContaining({ domain, id: orphan }))
      expect(await mine()).toEqual([orphan])
      expect(await deleteCollectableChunk(db(), { domain, id: shared }, later)).toBe(false)
      expect(await deleteCollectableChunk(db(), { domain, id: orphan }, later)).toBe(true)
      expect(await getChunk(db(), domain, orphan)).toBeUndefined()

      const released = now()
      await db().transaction((tx) => releaseChunkRefs(tx, domain, [shared, shared], released))
      expect(await getChunk(db(), domain, shared)).toMatchObject({ refcount: 1, zeroSince: null })
      await db().transaction((tx) => releaseChunkRefs(tx, domain, [shared], released))
      expect(await getChunk(db(), domain, shared)).toMatchObject({
        refcount: 0,
        zeroSince: released,
      })
    })
  })
}
