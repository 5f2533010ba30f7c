import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { IGNORE_FILE } from '../ignore-rules.ts'
import { MOVE_GRACE_MS } from '../local-sync.ts'
import { type Device, devicesOf, eventually, hash, text } from './two-devices.ts'

let t: TestCoordinator
let a: Device
let b: Device

beforeAll(async () => {
  t = await startCoordinator()
  ;[a, b] = (await devicesOf(t, 2)) as [Device, Device]
  await Promise.all([a.engine.start(), b.engine.start()])
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await t?.close()
})

/** The paths the coordinator holds for the account. */
async function remotePaths(): Promise<string[]> {
  const { files } = await a.api.list({ limit: 1000 })
  return files
    .filter((f) => !f.deleted)
    .map((f) => f.path)
    .sort()
}

/** Lets any sync in flight settle: a marker file written after `write` arrives on `to`. */
async function settled(from: Device, to: Device, marker: string): Promise<void> {
  from.fs.writeFile(marker, text(marker))
  await eventually(() => expect(to.fs.readFile(marker)).toBeDefined())
}

describe('ignore rules', () => {
  it('never uploads editor swap files, OS litter or other default-ignored names', async () => {
    const litter = [
      'doc.txt.swp',
      'doc.txt.swo',
      'doc.txt~',
      'notes/.#doc.txt',
      'notes/4913',
      'cache.tmp',
      '.~lock.report.odt#',
      '.DS_Store',
      'photos/Thumbs.db',
      'desktop.ini',
      'photos/._img.jpg',
      'nested/.cloudsync/index.db',
    ]
    for (const path of litter) a.fs.writeFile(path, text(path))
    a.fs.writeFile('doc.txt', text('kept'))
    await settled(a, b, 'marker-1')
    expect(hash(b.fs.readFile('doc.txt'))).toBe(hash(text('kept')))
    for (const path of litter) expect(b.fs.readFile(path), path).toBeUndefined()
    expect(await remotePaths()).toEqual(['doc.txt', 'marker-1'])
    await a.engine.rescan()
    expect(a.engine.ignored.count).toBe(litter.length)
    expect(a.engine.ignored.list()).toEqual([...litter].sort())
  })

  it('follows .cloudsyncignore, syncs the rules file, and takes a change of it at once', async () => {
    a.fs.writeFile('build/out.o', text('object'))
    a.fs.writeFile('src/main.c', text('int main;'))
    a.fs.writeFile(IGNORE_FILE, text('# build products\nbuild/\n*.log\n!keep.log\n'))
    a.fs.writeFile('run.log', text('noise'))
    a.fs.writeFile('keep.log', text('kept'))
    await settled(a, b, 'marker-2')
    // The rules file is synced: both devices follow the same rules.
    await eventually(() => expect(b.fs.readFile(IGNORE_FILE)).toBeDefined())
    expect(b.fs.readFile('src/main.c')).toBeDefined()
    expect(b.fs.readFile('keep.log')).toBeDefined()
    expect(b.fs.readFile('run.log')).toBeUndefined()
    expect(b.fs.readFile('build/out.o')).toBeUndefined()
    // The other device ignores the same paths now.
    b.fs.writeFile('build/b-only.o', text('b object'))
    await settled(b, a, 'marker-3')
    expect(a.fs.readFile('build/b-only.o')).toBeUndefined()
    expect(await remotePaths()).not.toContain('build/b-only.o')
    // A rule taken out: what it kept back goes up without waiting for the periodic rescan.
    a.fs.writeFile(IGNORE_FILE, text('*.log\n'))
    await eventually(() => expect(hash(b.fs.readFile('build/out.o'))).toBe(hash(text('object'))))
    expect(b.fs.readFile('run.log')).toBeUndefined()
    expect(b.fs.readFile('keep.log')).toBeDefined()
  })

  it('leaves the other devices alone when a synced file is deleted after a rule covers it', async () => {
    a.fs.writeFile('data/table.csv', text('1,2,3'))
    await eventually(() => expect(b.fs.readFile('data/table.csv')).toBeDefined())
    a.fs.writeFile(IGNORE_FILE, text('*.log\ndata/\n'))
    await eventually(() => expect(b.engine.ignoreRules.ignores('data/table.csv')).toBe(true))
    a.fs.deleteFile('data/table.csv')
    // A vanished file is sent as a delete only after the move grace: wait past it.
    await new Promise((r) => setTimeout(r, 2 * MOVE_GRACE_MS))
    await settled(a, b, 'marker-4')
    expect(b.fs.readFile('data/table.csv')).toBeDefined()
    expect(await remotePaths()).toContain('data/table.csv')
  })
})
