import { describe, expect, it } from 'vitest'
import { changesAfter } from '../changes.ts'
import type { Db } from '../db.ts'
import { listFiles } from '../file-reads.ts'
import { fakeManifest, newAccount, ticker, upload } from './fixtures.ts'

export function changesContract(db: () => Db): void {
  describe('change log and listings', () => {
    const now = ticker(Date.UTC(2025, 3, 4))

    it('pages through changes after a cursor', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      for (const name of ['1', '2', '3', '4', '5']) {
        await upload(db(), {
          accountId,
          deviceId,
          path: `${name}.txt`,
          base: null,
          manifest: fakeManifest(name),
          now: now(),
        })
      }
      const pages: number[][] = []
      let cursor = 0
      for (;;) {
        const page = await changesAfter(db(), accountId, cursor, 2)
        pages.push(page.changes.map((c) => c.seq))
        cursor = page.cursor
        if (!page.hasMore) break
      }
      expect(pages).toEqual([[1, 2], [3, 4], [5]])
      expect(await changesAfter(db(), accountId, 5, 2)).toEqual({
        changes: [],
        cursor: 5,
        hasMore: false,
      })

      const [first] = (await changesAfter(db(), accountId, 0, 1)).changes
      expect(first).toMatchObject({
        kind: 'created',
        path: '1.txt',
        version: 1,
        deviceId,
        manifest: fakeManifest('1'),
      })
    })

    it('keeps accounts apart', async () => {
      const a = await newAccount(db(), now())
      const b = await newAccount(db(), now())
      await upload(db(), {
        accountId: a.accountId,
        deviceId: a.devices.laptop!.id,
        path: 'p',
        base: null,
        manifest: fakeManifest('p'),
        now: now(),
      })
      expect((await changesAfter(db(), b.accountId, 0, 10)).changes).toEqual([])
      expect((await listFiles(db(), b.accountId, { limit: 10 })).files).toEqual([])
    })

    it('lists live files under a prefix in path order, a page at a time', async () => {
      const { accountId, devices } = await newAccount(db(), now())
      const deviceId = devices.laptop!.id
      for (const path of ['docs/b.txt', 'docs/a.txt', 'docs2/x.txt', 'docs/sub/c.txt', 'top.txt']) {
        await upload(db(), {
          accountId,
          deviceId,
          path,
          base: null,
          manifest: fakeManifest(path),
          now: now(),
        })
      }
      const first = await listFiles(db(), accountId, { prefix: 'docs/', limit: 2 })
      expect(first.files.map((f) => f.path)).toEqual(['docs/a.txt', 'docs/b.txt'])
      expect(first.next).toBe('docs/b.txt')
      const second = await listFiles(db(), accountId, {
        prefix: 'docs/',
        after: first.next!,
        limit: 2,
      })
      expect(second).toMatchObject({ files: [{ path: 'docs/sub/c.txt', version: 1 }], next: null })
      expect((await listFiles(db(), accountId, { limit: 10 })).files).toHaveLength(5)
    })
  })
}
