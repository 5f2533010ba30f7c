/**
 * The undelete window against each metadata store: versions replaced or deleted stay
 * restorable (their chunks kept) for versionRetentionMs, then runGc prunes them and
 * collects the chunks no kept version names. runGc is called with a moved clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobKeyOf } from '../blobs/blob-checks.ts'
import { runGc } from '../services/gc.ts'
import type { FlowBackend } from './flow.suite.ts'
import { upload } from './flow.suite.ts'
import {
  makeFile,
  newAccount,
  startApp,
  type TestApp,
  type TestDevice,
  type TestFile,
} from './harness.ts'

const HOUR = 3_600_000
const CONFIG = { gcGraceMs: HOUR, versionRetentionMs: 48 * HOUR }
const later = (hours: number) => new Date(Date.now() + hours * HOUR)

export function runRetentionSuite(name: string, open: () => Promise<FlowBackend>): void {
  describe(`undelete window on ${name}`, () => {
    let backend: FlowBackend
    let t: TestApp
    const stored = async (file: TestFile, by: TestDevice) =>
      Promise.all(
        file.manifest.chunks.map(
          async (c) => (await t.app.blobs.head(blobKeyOf(by.accountId, c.id))) !== null,
        ),
      )
    const history = async (device: TestDevice, path: string) => {
      const res = await device.call({ method: 'GET', url: `/files/history?path=${path}` })
      expect(res.statusCode, res.body).toBe(200)
      return res.json().events as {
        version: number
        kind: string
        restorableUntil?: string
        pruned?: boolean
      }[]
    }
    beforeAll(async () => {
      backend = await open()
      t = await startApp({ listen: true, config: CONFIG, deps: { db: backend.db } })
    })
    afterAll(async () => {
      await t?.close()
      await backend?.teardown()
    })

    it('keeps replaced and deleted versions for the window, then drops them and their chunks', async () => {
      const [laptop] = await newAccount(t.app)
      const v1 = makeFile([100, 60])
      const first = (await upload(laptop!, 'report.doc', v1, null)).result
      // Version 2 shares version 1's first chunk: that one must stay while version 2 is live.
      const v2 = makeFile([100, 70], [[...v1.bytes.values()][0]!])
      await upload(laptop!, 'report.doc', v2, 1)
      const gone = makeFile([80])
      const doomed = (await upload(laptop!, 'gone.txt', gone, null)).result
      const del = await laptop!.call({
        method: 'DELETE',
        url: `/files/${doomed.fileId}`,
        payload: { baseVersion: 1 },
      })
      expect(del.statusCode, del.body).toBe(200)
      const live = makeFile([90])
      await upload(laptop!, 'live.bin', live, null)

      const shown = await history(laptop!, 'report.doc')
      expect(shown.find((e) => e.version === 2)?.restorableUntil).toBeUndefined()
      const until = Date.parse(shown.find((e) => e.version === 1)!.restorableUntil!)
      expect(until).toBeGreaterThan(later(47).getTime())
      expect(until).toBeLessThan(later(49).getTime())

      // Inside the window (and long past the chunks' grace): everything stays restorable.
      expect((await runGc(t.app, later(47))).versionsPruned).toBe(0)
      expect(await stored(v1, laptop!)).toEqual([true, true])
      expect(await stored(gone, laptop!)).toEqual([true])
      const meta = await laptop!.call({
        method: 'GET',
        url: `/files/${first.fileId}/metadata?version=1`,
      })
      expect(meta.statusCode).toBe(200)

      // Past it: the two retired versions go, then their chunks after the grace.
      expect((await runGc(t.app, later(49))).versionsPruned).toBe(2)
      await runGc(t.app, later(51))
      expect(await stored(v1, laptop!)).toEqual([true, false])
      expect(await stored(gone, laptop!)).toEqual([false])
      // Live versions keep every chunk, the one shared with a pruned version too.
      expect(await stored(v2, laptop!)).toEqual([true, true])
      expect(await stored(live, laptop!)).toEqual([true])
      const after = await history(laptop!, 'report.doc')
      expect(after.find((e) => e.version === 1)).toMatchObject({ pruned: true })
      expect(after.find((e) => e.version === 2)?.pruned).toBeUndefined()
      expect((await history(laptop!, 'gone.txt'))[0]).toMatchObject({
        kind: 'deleted',
        pruned: true,
      })
    })

    it('never prunes a version that is live again: an edit beat the delete', async () => {
      const [laptop] = await newAccount(t.app)
      const v1 = makeFile([50])
      const made = (await upload(laptop!, 'plan.md', v1, null)).result
      await laptop!.call({
        method: 'DELETE',
        url: `/files/${made.fileId}`,
        payload: { baseVersion: 1 },
      })
      // Based on version 1 without seeing the delete: the edit revives the file.
      const v2 = makeFile([60])
      await upload(laptop!, 'plan.md', v2, 1)
      await runGc(t.app, later(100))
      await runGc(t.app, later(102))
      expect(await stored(v2, laptop!)).toEqual([true])
      expect(await stored(v1, laptop!)).toEqual([false])
    })
  })
}
