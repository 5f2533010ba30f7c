/**
 * A new device, and one far behind, start from the account's current tree, not its log
 * (issue 14, item 7): files created and deleted before they caught up cost them no byte.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, hash, snapshot, text } from './two-devices.ts'

let t: TestCoordinator
beforeAll(async () => {
  t = await startCoordinator()
})
afterAll(() => t?.close())

const BIG = 300 * 1024

/** The chunk GETs each device made from the cloud, by URL. */
function cloudFetches() {
  const urls: string[][] = [[], []]
  return {
    urls,
    onCloudFetch: (device: number, url: string) => urls[device]!.push(url),
    /** Whether a device fetched any of these chunks. */
    fetchedAny: (device: number, ids: string[]) =>
      urls[device]!.some((url) => ids.some((id) => url.includes(id))),
  }
}

async function chunkIdsAt(device: Device, path: string): Promise<string[]> {
  return (await device.api.byPath(path)).chunks.map((c) => c.id)
}

async function gone(device: Device, path: string): Promise<boolean> {
  try {
    await device.api.byPath(path)
    return false
  } catch (err) {
    if (isCloudsyncError(err, 'NOT_FOUND')) return true
    throw err
  }
}

describe('starting from a snapshot', () => {
  let devices: Device[] = []
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.stop()))
  })

  it('a device linked after files were created and deleted fetches none of their bytes, keeps its own files and ends with the tree', async () => {
    const fetches = cloudFetches()
    devices = await devicesOf(t, 2, { onCloudFetch: fetches.onCloudFetch })
    const [a, b] = devices as [Device, Device]
    await a.engine.start()
    const big1 = randomBytes(BIG)
    const big2 = randomBytes(BIG)
    a.fs.writeFile('big-1.bin', big1)
    a.fs.writeFile('big-2.bin', big2)
    a.fs.writeFile('keep.txt', text('keep, from a'))
    a.fs.writeFile('edit.txt', text('first words'))
    await eventually(async () => (await chunkIdsAt(a, 'big-2.bin')).length > 0)
    await eventually(async () => (await a.api.byPath('edit.txt')).version === 1)
    const deletedIds = [
      ...(await chunkIdsAt(a, 'big-1.bin')),
      ...(await chunkIdsAt(a, 'big-2.bin')),
    ]
    a.fs.deleteFile('big-1.bin')
    a.fs.deleteFile('big-2.bin')
    a.fs.writeFile('edit.txt', text('second words, longer'))
    await eventually(async () => (await gone(a, 'big-1.bin')) && (await gone(a, 'big-2.bin')))
    await eventually(async () => (await a.api.byPath('edit.txt')).version === 2)

    // B links a folder that already holds files: one of its own, one at a path A uses.
    b.fs.writeFile('mine.txt', text('only on b'))
    b.fs.writeFile('keep.txt', text('keep, from b'))
    await b.engine.start()
    await eventually(async () => {
      const [sa, sb] = [await snapshot(a.fs), await snapshot(b.fs)]
      expect(sb).toEqual(sa)
      expect(sb['mine.txt']).toBe(hash(text('only on b')))
      expect(sb['edit.txt']).toBe(hash(text('second words, longer')))
      // Both versions of keep.txt survive, one of them as a conflict copy.
      expect(Object.values(sb)).toEqual(
        expect.arrayContaining([hash(text('keep, from a')), hash(text('keep, from b'))]),
      )
    }, 20_000)
    expect(await snapshot(b.fs)).not.toHaveProperty('big-1.bin')
    expect(fetches.fetchedAny(1, deletedIds)).toBe(false)
    expect(b.engine.remote.counters.snapshots).toBe(1)
    // Everything B took from the cloud is far less than one deleted file.
    expect(b.engine.fetcher.counters.cloud?.bytes ?? 0).toBeLessThan(1024)
    expect(fetches.urls[1]!.length).toBeLessThanOrEqual(2)
  }, 60_000)

  it('a device far behind applies what changed meanwhile, deletions and moves included, without the deleted bytes', async () => {
    await Promise.all(devices.map((d) => d.stop()))
    const fetches = cloudFetches()
    devices = await devicesOf(t, 2, { onCloudFetch: fetches.onCloudFetch, snapshotBehind: 3 })
    const [a, b] = devices as [Device, Device]
    await Promise.all([a.engine.start(), b.engine.start()])
    // B says hello on an empty log, so it follows the log from the start.
    await eventually(() => expect(b.engine.remote.connected).toBe(true))
    const moving = Uint8Array.from(randomBytes(64 * 1024))
    a.fs.writeFile('stay.txt', text('stays'))
    a.fs.writeFile('will-move.bin', Uint8Array.from(moving))
    a.fs.writeFile('will-go.txt', text('goes'))
    await eventually(async () => {
      expect(Object.keys(await snapshot(b.fs)).sort()).toEqual([
        'stay.txt',
        'will-go.txt',
        'will-move.bin',
      ])
    })
    expect(b.engine.remote.counters.snapshots).toBe(0)
    await b.stop()
    const fetchedBefore = fetches.urls[1]!.length

    a.fs.writeFile('big.bin', randomBytes(BIG))
    await eventually(async () => (await chunkIdsAt(a, 'big.bin')).length > 0)
    const deletedIds = await chunkIdsAt(a, 'big.bin')
    a.fs.deleteFile('big.bin')
    a.fs.deleteFile('will-go.txt')
    a.fs.writeFile('moved/here.bin', Uint8Array.from(moving))
    a.fs.deleteFile('will-move.bin')
    a.fs.writeFile('new.txt', text('new while b slept'))
    await eventually(async () => {
      expect(await gone(a, 'big.bin')).toBe(true)
      expect(await gone(a, 'will-go.txt')).toBe(true)
      expect(await gone(a, 'will-move.bin')).toBe(true)
      expect((await a.api.byPath('new.txt')).version).toBe(1)
      expect((await a.api.byPath('moved/here.bin')).size).toBe(moving.length)
    })

    await b.restart()
    await eventually(async () => expect(await snapshot(b.fs)).toEqual(await snapshot(a.fs)))
    expect(Object.keys(await snapshot(b.fs)).sort()).toEqual([
      'moved/here.bin',
      'new.txt',
      'stay.txt',
    ])
    expect(fetches.fetchedAny(1, deletedIds)).toBe(false)
    expect(b.engine.remote.counters.snapshots).toBe(1)
    // Only new.txt came from the cloud: the moved content was on b already.
    expect(fetches.urls[1]!.slice(fetchedBefore)).toHaveLength(1)
  }, 60_000)
})
