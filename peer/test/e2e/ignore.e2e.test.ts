/**
 * Issue 21, ignore rules, as a user meets them with real daemons, chokidar and folders:
 * editor swap files and what `.cloudsyncignore` names stay on the device that has them,
 * the rules file itself syncs, and `status --verbose` lists what is kept back.
 */
import { mkdir, writeFile } from 'node:fs/promises'
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
  e2e = await E2E.create('ignore')
  coordinator = await e2e.startCoordinator()
  ;[a, b] = await e2e.account(coordinator, ['a', 'b'])
  await e2e.startDaemon(a)
  await e2e.startDaemon(b)
}, 180_000)

afterAll(async () => {
  await e2e?.cleanup()
})

test('ignored paths stay here, the rules file syncs, and status --verbose lists them', async () => {
  const rules = '# build products\nbuild/\n'
  await writeFile(join(a.dir, '.cloudsyncignore'), rules)
  await mkdir(join(a.dir, 'build'))
  await writeFile(join(a.dir, 'build', 'out.o'), 'object')
  await writeFile(join(a.dir, '.notes.txt.swp'), 'swap')
  await writeFile(join(a.dir, 'notes.txt'), 'notes')
  await waitForTrees(
    [b],
    new Map([
      ['.cloudsyncignore', sha256(rules)],
      ['notes.txt', sha256('notes')],
    ]),
    60_000,
  )
  await waitFor(async () => (await freshStatus(a)).ignored?.count === 2, {
    timeoutMs: 20_000,
    what: 'A to count the two ignored paths',
  })
  const shown = await e2e.cliOk(['status', '--verbose', '--dir', a.dir])
  expect(shown).toContain(
    'ignored  2 path(s) kept out of sync by the ignore rules:\n  ".notes.txt.swp"\n  "build/out.o"',
  )
  expect(await e2e.cliOk(['status', '--dir', a.dir])).not.toContain('build/out.o')
}, 240_000)
