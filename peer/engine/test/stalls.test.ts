/**
 * Issue 14: one path, version or change that cannot be synced is skipped and reported, and
 * every other change goes on. Two devices on the real engine, in-memory folders, a real
 * coordinator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDomainSecret } from '../../../protocol/crypto/keys.ts'
import type { Change } from '../../../protocol/schemas/sync.ts'
import {
  encryptFile,
  startCoordinator,
  type TestCoordinator,
  uploadFile,
} from '../../adapters/test/coordinator-harness.ts'
import { UNSYNCABLE } from '../../ports/file-system.ts'
import { type Device, devicesOf, eventually, hash, text } from './two-devices.ts'

let t: TestCoordinator
beforeAll(async () => {
  t = await startCoordinator()
})
afterAll(async () => {
  await t?.close()
})

/** Two devices of a fresh account; both started unless `startB` is false. */
async function pair(startB = true): Promise<[Device, Device]> {
  const [a, b] = (await devicesOf(t, 2)) as [Device, Device]
  await a.engine.start()
  if (startB) await b.engine.start()
  return [a, b]
}

/** Every change of the account's log so far, read by `device`'s coordinator client. */
async function logOf(device: Device, upTo: number): Promise<Change[]> {
  const changes: Change[] = []
  await eventually(async () => {
    changes.length = 0
    for (let cursor = 0; ; ) {
      const page = await device.api.changes(cursor)
      changes.push(...page.changes)
      cursor = page.cursor
      if (!page.hasMore) break
    }
    expect(changes.length).toBeGreaterThanOrEqual(upTo)
  })
  return changes
}

/** Feeds `changes` to a device that is not running, renumbered 1, 2, 3... in this order. */
async function applyInOrder(device: Device, changes: Change[]): Promise<void> {
  const signal = new AbortController().signal
  for (const [i, change] of changes.entries())
    await device.engine.remote.applyInOrder({ ...change, seq: i + 1 }, signal)
}

describe('item 1: a name no device can use', () => {
  it('is skipped and reported, other uploads go on, and deleting it clears it', async () => {
    const [a, b] = await pair()
    try {
      a.fs.makeUnsyncable('edge/back\\slash.txt')
      a.fs.makeUnsyncable('edge/new\nline.txt')
      a.fs.writeFile('normal.txt', text('normal'))
      await eventually(() => expect(hash(b.fs.readFile('normal.txt'))).toBe(hash(text('normal'))))
      await eventually(() => expect(a.engine.pendingPaths).toBe(0))
      const problems = a.engine.problems.list().map((p) => [p.path, p.kind])
      expect(problems).toEqual([
        ['edge/back\\slash.txt', 'unsyncable'],
        ['edge/new\nline.txt', 'unsyncable'],
      ])
      expect(a.engine.problems.get('edge/back\\slash.txt', 'unsyncable')?.reason).toMatch(
        /backslash/,
      )
      a.fs.removeUnsyncable('edge/back\\slash.txt')
      a.fs.removeUnsyncable('edge/new\nline.txt')
      await eventually(() => expect(a.engine.problems.list()).toEqual([]))
      a.fs.writeFile('after.txt', text('after'))
      await eventually(() => expect(hash(b.fs.readFile('after.txt'))).toBe(hash(text('after'))))
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('is reported by the scan at start, symlinks too, and a rescan forgets what went', async () => {
    const [a, b] = (await devicesOf(t, 2)) as [Device, Device]
    try {
      a.fs.makeUnsyncable('bad\\name')
      a.fs.makeUnsyncable('link-to-elsewhere', 'symlink')
      a.fs.writeFile('good.txt', text('good'))
      await Promise.all([a.engine.start(), b.engine.start()])
      expect(a.engine.problems.list().map((p) => [p.path, p.reason])).toEqual([
        ['bad\\name', expect.stringMatching(/backslash/)],
        ['link-to-elsewhere', UNSYNCABLE.symlink],
      ])
      await eventually(() => expect(hash(b.fs.readFile('good.txt'))).toBe(hash(text('good'))))
      await a.stop()
      a.fs.removeUnsyncable('link-to-elsewhere')
      await a.restart()
      expect(a.engine.problems.list().map((p) => p.path)).toEqual(['bad\\name'])
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})

describe('items 2 and 3: a file and a folder of the same name, in either order', () => {
  it("replaces a file by a folder even when the folder's file comes first in the log", async () => {
    const [a, b] = await pair(false)
    try {
      a.fs.writeFile('swap', text('a file'))
      await eventually(() => expect(a.engine.uploader.counters.commits).toBe(1))
      a.fs.deleteFile('swap')
      await eventually(() => expect(a.engine.local.counters.deleted).toBe(1))
      a.fs.writeFile('swap/inner.txt', text('inside'))
      a.fs.writeFile('later.txt', text('later'))
      const [created, deleted, inner, later] = await logOf(a, 4)
      // As a device that uploaded the new file before the old one's deletion would log it.
      await applyInOrder(b, [created!, inner!, deleted!, later!])
      expect(hash(b.fs.readFile('swap/inner.txt'))).toBe(hash(text('inside')))
      expect(hash(b.fs.readFile('later.txt'))).toBe(hash(text('later')))
      expect(b.engine.problems.list()).toEqual([])
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('replaces a folder by a file even when the file comes first in the log', async () => {
    const [a, b] = await pair(false)
    try {
      a.fs.writeFile('d/f', text('in the folder'))
      await eventually(() => expect(a.engine.uploader.counters.commits).toBe(1))
      a.fs.deleteTree('d')
      await eventually(() => expect(a.engine.local.counters.deleted).toBe(1))
      a.fs.writeFile('d', text('now a file'))
      const [created, deleted, file] = await logOf(a, 3)
      await applyInOrder(b, [created!, file!, deleted!])
      expect(hash(b.fs.readFile('d'))).toBe(hash(text('now a file')))
      expect(b.engine.problems.list()).toEqual([])
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('brings a folder replaced by a file to the other device', async () => {
    const [a, b] = await pair()
    try {
      a.fs.writeFile('d/f', text('in the folder'))
      await eventually(() => expect(b.fs.readFile('d/f')).toBeDefined())
      // One batch: the new file and the old one's removal reach the engine together.
      a.fs.deleteTree('d')
      a.fs.writeFile('d', text('now a file'))
      await eventually(() => expect(hash(b.fs.readFile('d'))).toBe(hash(text('now a file'))))
      expect(b.fs.readFile('d/f')).toBeUndefined()
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})

describe('item 4: a manifest that fails verification', () => {
  it('is skipped for that version and reported, and later changes go on', async () => {
    const [a, b] = await pair()
    try {
      // Sealed under another account's secret: no device of this account can verify it.
      const forged = await encryptFile(createDomainSecret(), text('not ours to read'))
      await uploadFile(a.api, 'forged.bin', forged)
      a.fs.writeFile('after.txt', text('after'))
      await eventually(() => expect(hash(b.fs.readFile('after.txt'))).toBe(hash(text('after'))))
      expect(b.fs.readFile('forged.bin')).toBeUndefined()
      const problem = b.engine.problems.get('forged.bin', 'skipped')
      expect(problem?.code).toBe('INVALID_MANIFEST')
      expect(problem?.reason).toMatch(/does not match its chunks/)
      // A later version at the path supersedes it, and its problem goes (the forged one
      // lives on as a conflict copy, which no device can read either).
      a.fs.writeFile('forged.bin', text('a real version'))
      await eventually(() =>
        expect(hash(b.fs.readFile('forged.bin'))).toBe(hash(text('a real version'))),
      )
      expect(b.engine.problems.get('forged.bin', 'skipped')).toBeUndefined()
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
