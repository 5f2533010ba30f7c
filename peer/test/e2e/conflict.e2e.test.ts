/**
 * Scenario 5: the same file edited differently on two devices while neither runs; both
 * start. The coordinator arbitrates: one version at the path, the other as a conflict
 * copy `name (conflicted copy from DEVICE ...)`, on every device (a third device watched
 * the whole time), and no content is lost.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Coordinator,
  type Device,
  E2E,
  hashTree,
  sha256,
  treeLines,
  waitFor,
  waitForTrees,
} from './harness.ts'

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device
let c: Device

const COPY = /^notes \(conflicted copy from (a|b) \d{4}-\d\d-\d\d \d{6}( \d+)?\)\.txt$/

beforeAll(async () => {
  e2e = await E2E.create('conflict')
  coordinator = await e2e.startCoordinator()
  ;[a, b, c] = await e2e.account(coordinator, ['a', 'b', 'c'])
  await Promise.all([a, b, c].map((d) => e2e.startDaemon(d)))
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('concurrent edits of one file', () => {
  test('one version at the path, the other as a conflict copy, everywhere', async () => {
    const original = 'the original notes\n'
    await writeFile(join(a.dir, 'notes.txt'), original)
    await waitForTrees([a, b, c], new Map([['notes.txt', sha256(original)]]))

    await Promise.all([e2e.stopDaemon(a), e2e.stopDaemon(b)])
    const fromA = 'edited on a, offline\n'
    const fromB = 'edited on b, offline, differently\n'
    await writeFile(join(a.dir, 'notes.txt'), fromA)
    await writeFile(join(b.dir, 'notes.txt'), fromB)
    await Promise.all([e2e.startDaemon(a), e2e.startDaemon(b)])

    // Two files everywhere: the path and one conflict copy; together they hold both edits.
    const wanted = [sha256(fromA), sha256(fromB)].sort()
    await waitFor(
      async () => {
        for (const d of [a, b, c]) {
          const tree = await hashTree(d.dir)
          if (tree.size !== 2 || !tree.has('notes.txt')) return false
          if (JSON.stringify([...tree.values()].sort()) !== JSON.stringify(wanted)) return false
        }
        return true
      },
      { timeoutMs: 60_000, what: 'notes.txt and a conflict copy holding both edits everywhere' },
    )
    const trees = await Promise.all([a, b, c].map((d) => hashTree(d.dir)))
    expect(treeLines(trees[1]!)).toEqual(treeLines(trees[0]!))
    expect(treeLines(trees[2]!)).toEqual(treeLines(trees[0]!))
    const copy = [...trees[0]!.keys()].find((p) => p !== 'notes.txt')!
    expect(copy).toMatch(COPY)
    // The copy is named after the device whose edit lost the path, and holds that edit.
    const loser = COPY.exec(copy)![1]!
    const copyText = await readFile(join(c.dir, copy), 'utf8')
    expect(copyText).toBe(loser === 'a' ? fromA : fromB)
    expect(await readFile(join(c.dir, 'notes.txt'), 'utf8')).toBe(loser === 'a' ? fromB : fromA)
  }, 120_000)
})
