/**
 * Scenario 1: a coordinator and three devices, every daemon a real `cloudsync sync`
 * process. Creates, edits, renames, deletes, nested folders, empty files and a 0-byte
 * edit made on any device reach all three, and the folders end identical.
 */
import { mkdir, rename, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Coordinator,
  type Device,
  E2E,
  emptyFolders,
  freshStatus,
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
/** What every folder should hold: path -> SHA-256. */
const expected = new Map<string, string>()

async function put(device: Device, path: string, content: string): Promise<void> {
  const full = join(device.dir, path)
  await mkdir(join(full, '..'), { recursive: true })
  await writeFile(full, content)
  expected.set(path, sha256(content))
}

beforeAll(async () => {
  e2e = await E2E.create('basic')
  coordinator = await e2e.startCoordinator()
  ;[a, b, c] = await e2e.account(coordinator, ['a', 'b', 'c'])
  await Promise.all([a, b, c].map((d) => e2e.startDaemon(d)))
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('three devices on one coordinator', () => {
  test('creates, nested folders and empty files propagate from A', async () => {
    await put(a, 'hello.txt', 'hello from a\n')
    await put(a, 'docs/report.md', '# report\n'.repeat(100))
    await put(a, 'docs/deep/er/still/notes.txt', 'nested four levels\n')
    await put(a, 'empty.txt', '')
    await put(a, 'docs/empty-too', '')
    await put(a, 'to-truncate.bin', 'x'.repeat(10_000))
    await waitForTrees([a, b, c], expected)
  })

  test('edits, a 0-byte edit, a rename and a delete propagate from A', async () => {
    await put(a, 'hello.txt', 'hello from a, edited\n')
    await truncate(join(a.dir, 'to-truncate.bin'), 0)
    expected.set('to-truncate.bin', sha256(''))
    await rename(join(a.dir, 'docs/report.md'), join(a.dir, 'report-renamed.md'))
    expected.set('report-renamed.md', expected.get('docs/report.md')!)
    expected.delete('docs/report.md')
    await rm(join(a.dir, 'docs/empty-too'))
    expected.delete('docs/empty-too')
    await waitForTrees([a, b, c], expected)
    // The rename went up as a move, not a re-upload, and came down as one.
    const statusA = await freshStatus(a)
    expect(statusA.local.moved).toBeGreaterThanOrEqual(1)
    const statusB = await freshStatus(b)
    expect(statusB.remote.moved).toBeGreaterThanOrEqual(1)
  })

  test('changes made on B and C reach the others', async () => {
    await put(b, 'from-b/one.txt', 'b wrote this\n')
    await put(c, 'from-c/two.txt', 'c wrote this\n')
    await put(c, 'hello.txt', 'hello, now from c\n')
    await waitForTrees([a, b, c], expected)
    await rm(join(b.dir, 'docs/deep'), { recursive: true })
    expected.delete('docs/deep/er/still/notes.txt')
    await rename(join(c.dir, 'empty.txt'), join(c.dir, 'from-c/empty-moved.txt'))
    expected.set('from-c/empty-moved.txt', expected.get('empty.txt')!)
    expected.delete('empty.txt')
    await waitForTrees([a, b, c], expected)
  })

  test('empty folders: one left empty stays everywhere, one made and removed on C follows', async () => {
    // B removed docs/deep, the last thing in docs/: docs/ stays, empty, on every device.
    let seen: string[][] = []
    const want = async (folders: string[]) =>
      waitFor(
        async () => {
          seen = await Promise.all([a, b, c].map((d) => emptyFolders(d.dir)))
          return seen.every((got) => got.join() === folders.join())
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `empty folders ${folders.join(', ')}` },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; a, b, c have: ${JSON.stringify(seen)}`)
      })
    await want(['docs'])
    await mkdir(join(c.dir, 'made/on/c'), { recursive: true })
    await want(['docs', 'made/on/c'])
    await rm(join(c.dir, 'made/on'), { recursive: true })
    await want(['docs', 'made'])
    await waitForTrees([a, b, c], expected)
  })

  test('all three folders end identical', async () => {
    const trees = await Promise.all([a, b, c].map((d) => hashTree(d.dir)))
    expect(treeLines(trees[1]!)).toEqual(treeLines(trees[0]!))
    expect(treeLines(trees[2]!)).toEqual(treeLines(trees[0]!))
    expect(treeLines(trees[0]!)).toEqual(treeLines(expected))
    // Nothing stuck: no pending work anywhere.
    for (const d of [a, b, c]) {
      const s = await freshStatus(d)
      expect(s.pendingUploads, d.name).toBe(0)
      expect(s.remote['refused-path'], d.name).toBe(0)
    }
  })
})
