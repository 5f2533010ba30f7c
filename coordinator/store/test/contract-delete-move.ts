import { describe, expect, it } from 'vitest'
import { getAccount } from '../accounts.ts'
import { changesAfter } from '../changes.ts'
import type { Db } from '../db.ts'
import { deleteFile, moveFile } from '../delete-move.ts'
import { getFile, getFileByPath } from '../file-reads.ts'
import { errorCode, fakeManifest, newAccount, ticker, upload } from './fixtures.ts'

export function fileOpsContract(db: () => Db): void {
  describe('deletes and moves', () => {
    const now = ticker(Date.UTC(2025, 4, 5))

    it('lets an edit beat a concurrent delete: the file comes back under its id', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const laptop = devices.laptop!.id
      const f = await upload(db(), {
        accountId,
        deviceId: laptop,
        path: 'x.txt',
        base: null,
        manifest: fakeManifest('x1'),
        now: now(),
      })
      await deleteFile(db(), {
        accountId,
        deviceId: devices.desktop!.id,
        fileId: f.fileId,
        baseVersion: 1,
        now: now(),
      })
      expect(await getFileByPath(db(), accountId, 'x.txt')).toBeUndefined()

      const edit = fakeManifest('x2')
      const result = await upload(db(), {
        accountId,
        deviceId: laptop,
        path: 'x.txt',
        base: { fileId: null, version: 1 },
        manifest: edit,
        now: now(),
      })
      expect(result).toMatchObject({
        fileId: f.fileId,
        version: 2,
        kind: 'created',
        conflictCopy: null,
      })
      expect(await getFileByPath(db(), accountId, 'x.txt')).toMatchObject({
        id: f.fileId,
        deleted: false,
        manifest: edit,
      })
    })

    it('does not mistake a file re-created at the same path for the base it replaced', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const laptop = devices.laptop!.id
      const desktop = devices.desktop!.id
      const old = await upload(db(), {
        accountId,
        deviceId: laptop,
        path: 'r.txt',
        base: null,
        manifest: fakeManifest('r-old'),
        now: now(),
      })
      await deleteFile(db(), {
        accountId,
        deviceId: desktop,
        fileId: old.fileId,
        baseVersion: 1,
        now: now(),
      })
      const fresh = await upload(db(), {
        accountId,
        deviceId: desktop,
        path: 'r.txt',
        base: null,
        manifest: fakeManifest('r-new'),
        now: now(),
      })
      expect(fresh).toMatchObject({ version: 1, kind: 'created' })

      // Version 1 of the old file, not of the new one that has version 1 too.
      const edit = await upload(db(), {
        accountId,
        deviceId: laptop,
        path: 'r.txt',
        base: { fileId: old.fileId, version: 1 },
        manifest: fakeManifest('r-edit'),
        now: now(),
      })
      expect(edit).toMatchObject({ fileId: fresh.fileId, version: 2, kind: 'modified' })
      expect(edit.conflictCopy?.path).toMatch(/^r \(conflicted copy from desktop /)
      expect((await getFileByPath(db(), accountId, edit.conflictCopy!.path))?.manifest).toEqual(
        fakeManifest('r-new'),
      )
    })

    it('refuses a delete based on a stale version and writes nothing', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      const f = await upload(db(), {
        accountId,
        deviceId,
        path: 'k.txt',
        base: null,
        manifest: fakeManifest('k1'),
        now: now(),
      })
      const base = { fileId: f.fileId, version: 1 }
      await upload(db(), {
        accountId,
        deviceId,
        path: 'k.txt',
        base,
        manifest: fakeManifest('k2'),
        now: now(),
      })
      const before = await getAccount(db(), accountId)

      const del = { accountId, deviceId: devices.desktop!.id, fileId: f.fileId, now: now() }
      expect(await errorCode(deleteFile(db(), { ...del, baseVersion: 1 }))).toBe('STALE_BASE')
      expect(await getAccount(db(), accountId)).toEqual(before)
      expect((await getFile(db(), accountId, f.fileId))?.deleted).toBe(false)

      expect((await deleteFile(db(), { ...del, baseVersion: 2 })).seq).toBe(3)
      expect((await deleteFile(db(), { ...del, baseVersion: 2 })).seq).toBeNull()
      expect((await getAccount(db(), accountId))?.lastSeq).toBe(3)
    })

    it('moves a file, refusing an occupied target and a stale base', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      const a = await upload(db(), {
        accountId,
        deviceId,
        path: 'a.txt',
        base: null,
        manifest: fakeManifest('a'),
        now: now(),
      })
      await upload(db(), {
        accountId,
        deviceId,
        path: 'b.txt',
        base: null,
        manifest: fakeManifest('b'),
        now: now(),
      })
      const op = { accountId, deviceId, fileId: a.fileId, baseVersion: 1, now: now() }

      expect(await errorCode(moveFile(db(), { ...op, toPath: 'b.txt' }))).toBe('CONFLICT')
      expect(await errorCode(moveFile(db(), { ...op, baseVersion: 2, toPath: 'c.txt' }))).toBe(
        'STALE_BASE',
      )
      const moved = await moveFile(db(), { ...op, toPath: 'dir/c.txt' })
      expect(moved).toMatchObject({ fileId: a.fileId, path: 'dir/c.txt', version: 1, seq: 3 })
      expect(await getFileByPath(db(), accountId, 'a.txt')).toBeUndefined()
      expect((await getFileByPath(db(), accountId, 'dir/c.txt'))?.id).toBe(a.fileId)

      const { changes } = await changesAfter(db(), accountId, 2, 10)
      expect(changes).toMatchObject([
        // A move carries the file's manifest, so a device that lacks the source can still write it.
        { kind: 'moved', path: 'dir/c.txt', fromPath: 'a.txt', manifest: fakeManifest('a') },
      ])
    })
  })
}
