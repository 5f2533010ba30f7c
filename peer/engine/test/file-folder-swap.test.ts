/**
 * One device replaces a file by a folder of the same name (or a folder by a file) while
 * another device keeps using the old one. The coordinator refuses the loser with
 * PATH_CLASH; the winner's version takes the path on every device, and the loser's local
 * entry moves aside to a conflict-copy name and syncs from there (docs/DESIGN.md
 * "Conflicts"). Two devices on the real engine, in-memory folders, a real coordinator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, hash, snapshot, text } from './two-devices.ts'

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

/** The path of the one conflict copy in a folder whose name starts with `stem`. */
async function copyOf(device: Device, stem: string): Promise<string> {
  const paths = Object.keys(await snapshot(device.fs)).filter((p) =>
    p.startsWith(`${stem} (conflicted copy from ${device.name} `),
  )
  expect(paths).toHaveLength(1)
  return paths[0]!
}

/** Both devices hold the same files, and nothing is left to sync or reported. */
async function settled(a: Device, b: Device): Promise<Record<string, string>> {
  await eventually(async () => {
    expect(await snapshot(a.fs)).toEqual(await snapshot(b.fs))
    expect(a.engine.remote.behind + b.engine.remote.behind).toBe(0)
    expect([...a.engine.problems.list(), ...b.engine.problems.list()]).toEqual([])
  }, 20_000)
  return snapshot(a.fs)
}

describe('a file and a folder of the same name, changed on two devices at once', () => {
  it('a file replaced by a folder while another device edits it: the edit keeps the path, the folder moves aside', async () => {
    const [a, b] = await pair()
    try {
      a.fs.writeFile('notes.md', text('first'))
      await eventually(() => expect(b.fs.readFile('notes.md')).toBeDefined())
      await a.stop()
      a.fs.deleteFile('notes.md')
      a.fs.writeFile('notes.md/inner', text('inside the new folder'))
      b.fs.writeFile('notes.md', text('edited on b'))
      await eventually(() => expect(b.engine.uploader.counters.commits).toBe(1))
      await a.restart()
      const files = await settled(a, b)
      expect(files['notes.md']).toBe(hash(text('edited on b')))
      const copy = await copyOf(a, 'notes')
      expect(copy).toMatch(/^notes \(conflicted copy from device-0 [\d-]+ \d{6}\)\.md\/inner$/)
      expect(files[copy]).toBe(hash(text('inside the new folder')))
      expect(Object.keys(files)).toHaveLength(2)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('a folder replaced by a file while another device adds a file inside: the file keeps the path, the added file moves aside', async () => {
    const [a, b] = await pair()
    try {
      a.fs.writeFile('d/f', text('in the folder'))
      await eventually(() => expect(b.fs.readFile('d/f')).toBeDefined())
      await b.stop()
      b.fs.writeFile('d/new', text('added on b'))
      a.fs.deleteTree('d')
      a.fs.writeFile('d', text('now a file'))
      await eventually(() => expect(a.engine.uploader.counters.commits).toBe(2))
      await b.restart()
      const files = await settled(a, b)
      expect(files.d).toBe(hash(text('now a file')))
      const copy = await copyOf(b, 'd')
      expect(copy).toMatch(/^d \(conflicted copy from device-1 [\d-]+ \d{6}\)\/new$/)
      expect(files[copy]).toBe(hash(text('added on b')))
      expect(Object.keys(files)).toHaveLength(2)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('a folder replaced by a file after another device added a file inside: the folder keeps the path, the file moves aside', async () => {
    const [a, b] = await pair()
    try {
      a.fs.writeFile('d/f', text('in the folder'))
      await eventually(() => expect(b.fs.readFile('d/f')).toBeDefined())
      await a.stop()
      a.fs.deleteTree('d')
      a.fs.writeFile('d', text('now a file'))
      b.fs.writeFile('d/new', text('added on b'))
      await eventually(() => expect(b.engine.uploader.counters.commits).toBe(1))
      await a.restart()
      const files = await settled(a, b)
      expect(files['d/new']).toBe(hash(text('added on b')))
      const copy = await copyOf(a, 'd')
      expect(copy).toMatch(/^d \(conflicted copy from device-0 [\d-]+ \d{6}\)$/)
      expect(files[copy]).toBe(hash(text('now a file')))
      expect(Object.keys(files)).toHaveLength(2)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
