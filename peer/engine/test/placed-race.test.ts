/**
 * A placed file is not this device's edit (docs/LAN-FIRST.md rule 4), even when the
 * watcher reports it before the placement is recorded: the batch saw no placement, and
 * the path's lock (held by the placement) let the upload through only after it was made.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { LocalSync } from '../local-sync.ts'
import { PathLocks } from '../path-locks.ts'
import { type Device, devicesOf } from './two-devices.ts'

/** Path locks that tell when the n-th caller asks. */
class CountedLocks extends PathLocks {
  calls = 0
  readonly second = Promise.withResolvers<void>()
  override with<T>(paths: readonly string[], fn: () => Promise<T>): Promise<T> {
    if (++this.calls === 2) this.second.resolve()
    return super.with(paths, fn)
  }
}

let t: TestCoordinator
let d: Device

beforeAll(async () => {
  t = await startCoordinator()
  ;[d] = (await devicesOf(t, 1)) as [Device]
})
afterAll(async () => {
  await d?.stop()
  await t?.close()
})

describe('local sync and a placement finishing under its feet', () => {
  it('does not upload a file placed while the batch waited for the path', async () => {
    const path = 'movie.mkv'
    d.fs.writeFile(path, new Uint8Array(randomBytes(3 * 1024 * 1024)))
    const { manifest } = (await d.engine.uploader.encode(path))!
    const locks = new CountedLocks()
    const local = new LocalSync({
      fs: d.fs,
      api: d.api,
      index: d.index,
      uploader: d.engine.uploader,
      secret: d.secret,
      locks,
      problems: d.engine.problems,
      provisional: d.engine.provisional,
      retry: (call) => call(),
      log: () => {},
      now: Date.now,
    })
    // The placement holds the path: the batch sees no placement yet, then waits for it.
    const placing = Promise.withResolvers<void>()
    const placement = locks.with([path], () => placing.promise)
    const batch = local.syncBatch([path])
    await locks.second.promise
    d.engine.provisional.put({
      path,
      sessionId: 'another-device-session',
      deviceId: 'another-device',
      base: null,
      manifest,
      stat: (await d.fs.stat(path))!,
      placedAt: Date.now(),
    })
    placing.resolve()
    await placement
    expect(await batch).toEqual([])
    expect(local.counters.uploaded).toBe(0)
    expect(d.engine.uploader.counters.commits).toBe(0)
    expect(d.index.getUpload(path)).toBeUndefined()
  })
})
