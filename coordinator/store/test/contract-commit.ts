import { describe, expect, it } from 'vitest'
import { accountDomain, getAccount } from '../accounts.ts'
import { changesAfter } from '../changes.ts'
import { commitSessionOrThrow } from '../commit.ts'
import type { Db } from '../db.ts'
import { getFileByPath, getFileVersion } from '../file-reads.ts'
import { createSession, markChunksPresent } from '../sessions.ts'
import { fakeManifest, newAccount, ticker, upload } from './fixtures.ts'

export function commitContract(db: () => Db): void {
  describe('commits and conflicts', () => {
    const now = ticker(Date.UTC(2025, 2, 3, 4, 5, 6))

    it('creates a file, then modifies it under the same id, keeping the old version', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      const v1 = fakeManifest('doc-1')
      const created = await upload(db(), {
        accountId,
        deviceId,
        path: 'doc.txt',
        base: null,
        manifest: v1,
        now: now(),
      })
      expect(created).toMatchObject({
        path: 'doc.txt',
        version: 1,
        kind: 'created',
        seq: 1,
        conflictCopy: null,
      })

      const v2 = fakeManifest('doc-2')
      const base = { fileId: created.fileId, version: 1 }
      const modified = await upload(db(), {
        accountId,
        deviceId,
        path: 'doc.txt',
        base,
        manifest: v2,
        now: now(),
      })
      expect(modified).toMatchObject({
        fileId: created.fileId,
        version: 2,
        kind: 'modified',
        seq: 2,
      })
      expect(await getFileByPath(db(), accountId, 'doc.txt')).toMatchObject({
        id: created.fileId,
        version: 2,
        manifest: v2,
      })
      expect((await getFileVersion(db(), accountId, created.fileId, 1))?.manifest).toEqual(v1)
    })

    it('keeps the displaced version as a conflict copy named after its device and time', async () => {
      const { accountId, devices } = await newAccount(db(), now(), ['laptop', 'Anna/desktop'])
      const laptop = devices.laptop!.id
      const desktop = devices['Anna/desktop']!.id
      const base = await upload(db(), {
        accountId,
        deviceId: laptop,
        path: 'notes/plan.md',
        base: null,
        manifest: fakeManifest('plan-0'),
        now: now(),
      })
      const desktopAt = new Date(Date.UTC(2025, 5, 7, 8, 9, 10, 999))
      const theirs = fakeManifest('plan-desktop')
      await upload(db(), {
        accountId,
        deviceId: desktop,
        path: 'notes/plan.md',
        base: { fileId: base.fileId, version: 1 },
        manifest: theirs,
        now: desktopAt,
      })
      // The laptop edited version 1 too, without seeing the desktop's version 2.
      const mine = fakeManifest('plan-laptop')
      const result = await upload(db(), {
        accountId,
        deviceId: laptop,
        path: 'notes/plan.md',
        base: { fileId: base.fileId, version: 1 },
        manifest: mine,
        now: now(),
      })
      const copyPath = 'notes/plan (conflicted copy from Anna-desktop 2025-06-07 080910).md'
      expect(result).toMatchObject({ fileId: base.fileId, version: 3, kind: 'modified', seq: 4 })
      expect(result.conflictCopy).toMatchObject({ path: copyPath, version: 1, seq: 3 })

      expect(await getFileByPath(db(), accountId, 'notes/plan.md')).toMatchObject({
        version: 3,
        manifest: mine,
      })
      const copy = await getFileByPath(db(), accountId, copyPath)
      expect(copy).toMatchObject({
        id: result.conflictCopy!.fileId,
        manifest: theirs,
        deviceId: desktop,
      })
      expect(copy?.id).not.toBe(base.fileId)

      const { changes } = await changesAfter(db(), accountId, 2, 10)
      expect(changes.map((c) => [c.seq, c.kind, c.path])).toEqual([
        [3, 'created', copyPath],
        [4, 'modified', 'notes/plan.md'],
      ])
      expect(changes[0]!.conflictOf).toEqual({
        fileId: base.fileId,
        version: 2,
        path: 'notes/plan.md',
      })
      expect(changes[1]!.conflictOf).toBeNull()
      // The copy's chunks gained a reference of their own.
      const chunk = theirs.chunks[0]!.id
      const { rows } = await db().query<{ refcount: number }>(
        'SELECT refcount FROM chunks WHERE domain = $1 AND id = $2',
        [accountDomain(accountId), chunk],
      )
      expect(rows[0]?.refcount).toBe(2)
    })

    it('treats two new files at one path as a conflict, but not two identical uploads', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const spec = { accountId, path: 'same.txt', base: null }
      await upload(db(), {
        ...spec,
        deviceId: devices.desktop!.id,
        manifest: fakeManifest('same-d'),
        now: now(),
      })
      const clash = await upload(db(), {
        ...spec,
        deviceId: devices.laptop!.id,
        manifest: fakeManifest('same-l'),
        now: now(),
      })
      expect(clash.conflictCopy?.path).toMatch(
        /^same \(conflicted copy from desktop \d{4}-\d\d-\d\d \d{6}\)\.txt$/,
      )

      const twin = fakeManifest('twin')
      await upload(db(), {
        ...spec,
        path: 'twin.txt',
        deviceId: devices.desktop!.id,
        manifest: twin,
        now: now(),
      })
      const again = await upload(db(), {
        ...spec,
        path: 'twin.txt',
        deviceId: devices.laptop!.id,
        manifest: twin,
        now: now(),
      })
      expect(again).toMatchObject({ version: 2, kind: 'modified', conflictCopy: null })
    })

    it('answers a second completion with the stored result and writes nothing', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      const manifest = fakeManifest('twice')
      const { session } = await createSession(db(), {
        accountId,
        deviceId,
        domain: accountDomain(accountId),
        path: 'twice.txt',
        base: null,
        manifest,
        now: now(),
        ttlMs: 60_000,
      })
      await markChunksPresent(
        db(),
        session,
        manifest.chunks.map((c) => c.id),
        now(),
      )
      const complete = () =>
        commitSessionOrThrow(db(), { accountId, deviceId, sessionId: session.id, now: now() })
      const first = await complete()
      const second = await complete()
      expect(second).toEqual(first)
      expect((await getAccount(db(), accountId))?.lastSeq).toBe(1)
      expect((await getFileByPath(db(), accountId, 'twice.txt'))?.version).toBe(1)
    })
  })
}
