/**
 * Empty folders sync (docs/DESIGN.md "Empty folders"): each travels as its marker, so a
 * device keeps the folders the others keep, and a remote delete or move takes only the
 * folders it emptied. Two devices on the real engine, in-memory folders, a real coordinator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { folderMarkerOf } from '../../../protocol/paths.ts'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, snapshot, text } from './two-devices.ts'

let t: TestCoordinator
beforeAll(async () => {
  t = await startCoordinator()
})
afterAll(async () => {
  await t?.close()
})

async function pair(): Promise<[Device, Device]> {
  const [a, b] = (await devicesOf(t, 2)) as [Device, Device]
  await Promise.all([a.engine.start(), b.engine.start()])
  return [a, b]
}

/** Both devices hold the same tree, empty folders included, with nothing left to sync. */
async function settled(a: Device, b: Device): Promise<string[]> {
  await eventually(async () => {
    expect(await snapshot(b.fs)).toEqual(await snapshot(a.fs))
    expect(a.engine.remote.behind + b.engine.remote.behind).toBe(0)
    expect([...a.engine.problems.list(), ...b.engine.problems.list()]).toEqual([])
  }, 20_000)
  return Object.keys(await snapshot(a.fs)).sort()
}

describe('empty folders', () => {
  it('deleting deep/a/b keeps the emptied deep/a on the other device too', async () => {
    const [a, b] = await pair()
    try {
      a.fs.writeFile('deep/a/b/f.txt', text('f'))
      a.fs.writeFile('deep/a/b/g.txt', text('g'))
      await eventually(() => expect(b.fs.readFile('deep/a/b/g.txt')).toBeDefined())
      a.fs.deleteTree('deep/a/b')
      expect(await settled(a, b)).toEqual([folderMarkerOf('deep/a')])
      expect(await b.fs.stat(folderMarkerOf('deep/a'))).toBeDefined()
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('a folder made empty, renamed and removed on one device does the same on the other', async () => {
    const [a, b] = await pair()
    try {
      a.fs.makeFolder('photos/2026')
      expect(await settled(a, b)).toEqual([folderMarkerOf('photos/2026')])
      // Filled on the other device: the folder is no longer empty anywhere.
      b.fs.writeFile('photos/2026/one.jpg', text('jpeg'))
      expect(await settled(a, b)).toEqual(['photos/2026/one.jpg'])
      // Moving the last file out leaves the folder, empty, on both.
      expect(await a.fs.rename('photos/2026/one.jpg', 'one.jpg')).toBe(true)
      expect(await settled(a, b)).toEqual(['one.jpg', folderMarkerOf('photos/2026')])
      expect(await a.fs.rename(folderMarkerOf('photos/2026'), folderMarkerOf('photos/2025'))).toBe(
        true,
      )
      expect(await settled(a, b)).toEqual(['one.jpg', folderMarkerOf('photos/2025')])
      expect(a.fs.deleteFile(folderMarkerOf('photos/2025'))).toBe(true)
      // photos itself is now empty on a: it stays, as a folder, on both.
      expect(await settled(a, b)).toEqual(['one.jpg', folderMarkerOf('photos')])
      // An empty folder removed with its emptied parent: the one above stays, alone.
      a.fs.makeFolder('made/on/c')
      expect(await settled(a, b)).toContain(folderMarkerOf('made/on/c'))
      a.fs.deleteTree('made/on')
      expect(await settled(a, b)).toEqual([
        folderMarkerOf('made'),
        'one.jpg',
        folderMarkerOf('photos'),
      ])
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
