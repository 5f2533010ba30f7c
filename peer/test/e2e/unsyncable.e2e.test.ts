/**
 * Issue 14, item 1, as a user meets it: with the daemon running, a file whose name no
 * device can use (a backslash, a newline) must not stop other uploads. It is skipped and
 * reported (log and status), deleting it clears it, and the start-up scan reports such
 * names, names that are not UTF-8, and symlinks too.
 */
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  type Coordinator,
  type Device,
  E2E,
  freshStatus,
  sha256,
  waitFor,
  waitForTrees,
} from './harness.ts'

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device

beforeAll(async () => {
  e2e = await E2E.create('unsyncable')
  coordinator = await e2e.startCoordinator()
  ;[a, b] = await e2e.account(coordinator, ['a', 'b'])
  await e2e.startDaemon(a)
  await e2e.startDaemon(b)
}, 180_000)

afterAll(async () => {
  await e2e?.cleanup()
})

const problemPaths = async (device: Device) =>
  ((await freshStatus(device)).problems ?? []).map((p) => `${p.kind} ${p.path}`).sort()

test('a bad name is skipped and reported; other uploads go on; deleting it clears it', async () => {
  await mkdir(join(a.dir, 'edge'))
  await writeFile(join(a.dir, 'edge', 'back\\slash.txt'), 'bad')
  await writeFile(join(a.dir, 'edge', 'new\nline.txt'), 'bad')
  await writeFile(join(a.dir, 'normal.txt'), 'normal')
  await waitForTrees([b], new Map([['normal.txt', sha256('normal')]]), 60_000)
  await waitFor(
    async () =>
      (await problemPaths(a)).join(',') ===
      'unsyncable edge/back\\slash.txt,unsyncable edge/new\nline.txt',
    { timeoutMs: 20_000, what: 'A to report both names' },
  )
  expect(a.daemon!.output).toMatch(/not syncing an entry of the folder/)
  await waitFor(async () => (await freshStatus(a)).pendingPaths === 0, {
    timeoutMs: 20_000,
    what: 'nothing left pending on A',
  })
  const shown = await e2e.cliOk(['status', '--dir', a.dir])
  expect(shown).toContain('problems 2 path(s) cannot be synced:')
  expect(shown).toMatch(/"edge\/back\\\\slash.txt" \(not synced\): .*backslash/)

  await rm(join(a.dir, 'edge', 'back\\slash.txt'))
  await rm(join(a.dir, 'edge', 'new\nline.txt'))
  await waitFor(async () => (await problemPaths(a)).length === 0, {
    timeoutMs: 20_000,
    what: "A's problems to clear once the files are gone",
  })
  await writeFile(join(a.dir, 'after.txt'), 'after')
  await waitForTrees(
    [b],
    new Map([
      ['normal.txt', sha256('normal')],
      ['after.txt', sha256('after')],
    ]),
    60_000,
  )
}, 240_000)

test('the start-up scan reports bad names, names that are not UTF-8, and symlinks', async () => {
  await e2e.stopDaemon(a)
  await writeFile(join(a.dir, 'tab\tname.txt'), 'bad')
  await writeFile(Buffer.concat([Buffer.from(join(a.dir, 'latin1-')), Buffer.from([0xe9])]), 'x')
  await symlink('/etc/hostname', join(a.dir, 'link'))
  await e2e.startDaemon(a)
  expect(await problemPaths(a)).toEqual([
    'unsyncable latin1-\uFFFD',
    'unsyncable link',
    'unsyncable tab\tname.txt',
  ])
  const reasons = ((await freshStatus(a)).problems ?? []).map((p) => p.reason)
  expect(reasons).toEqual([
    'its name is not valid UTF-8',
    'a symbolic link (links are not followed)',
    expect.stringMatching(/control character/),
  ])
}, 240_000)
