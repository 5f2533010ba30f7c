/**
 * Issue 14, item 6: a full disk. Device B's folder is a small tmpfs; A saves a file larger
 * than it, then small ones. B's daemon must stay up, report the big path as a disk error
 * (status, with the disk line), give the temp file's space back, and sync everything else.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { mountSmallDisk, type SmallDisk } from '../../adapters/test/small-disk.ts'
import {
  type Coordinator,
  type Device,
  E2E,
  freshStatus,
  sha256,
  waitFor,
  waitForTrees,
} from './harness.ts'

const MiB = 1024 * 1024

let e2e: E2E
let coordinator: Coordinator
let disk: SmallDisk | undefined
let a: Device
let b: Device

beforeAll(async () => {
  e2e = await E2E.create('full-disk')
  coordinator = await e2e.startCoordinator()
  const token = await e2e.createAccount(coordinator)
  a = await e2e.linkFirst(coordinator, token, 'a')
  // B's folder (and its state dir) lives on the small disk.
  await mkdir(e2e.folder('b'), { recursive: true })
  disk = await mountSmallDisk(24, e2e.folder('b'))
  b = await e2e.linkAnother(a, 'b')
  await e2e.startDaemon(a)
  await e2e.startDaemon(b)
}, 180_000)

afterAll(async () => {
  await Promise.all([a && e2e.stopDaemon(a), b && e2e.stopDaemon(b)])
  await disk?.remove()
  await e2e?.cleanup()
})

test('a file larger than the disk is a reported error; the daemon and everything else go on', async () => {
  const big = randomBytes(40 * MiB)
  await writeFile(join(a.dir, 'big.bin'), big)
  const small = new Map<string, string>()
  for (let i = 0; i < 5; i++) {
    const body = `small file ${i}\n`
    await writeFile(join(a.dir, `small-${i}.txt`), body)
    small.set(`small-${i}.txt`, sha256(body))
  }
  await waitForTrees([b], small, 90_000)
  const status = await waitFor(
    async () => {
      const s = await freshStatus(b)
      return s.problems?.some((p) => p.path === 'big.bin' && p.code === 'ENOSPC') && s
    },
    { timeoutMs: 60_000, what: 'B to report big.bin as a full-disk error' },
  )
  expect(b.daemon?.running).toBe(true)
  expect(status.disk?.fullPaths).toBe(1)
  expect(status.faults?.count ?? 0).toBe(0)
  // The temp file that hit the wall was removed: its space is back.
  await waitFor(async () => (await readdir(join(b.stateDir, 'tmp'))).length === 0, {
    timeoutMs: 20_000,
    what: "B's temp files to be removed",
  })
  const shown = await e2e.cliOk(['status', '--dir', b.dir])
  expect(shown).toMatch(/daemon {3}running/)
  expect(shown).toMatch(/DISK FULL: 1 path\(s\) could not be written/)
  expect(shown).toMatch(/"big\.bin" \(remote change skipped, \d+ attempt\(s\)\): .*ENOSPC/)

  // Its deletion supersedes it: nothing is left to report, and B is up to date.
  await rm(join(a.dir, 'big.bin'))
  await waitFor(async () => ((await freshStatus(b)).problemCount === 0 ? true : undefined), {
    timeoutMs: 30_000,
    what: "B's problems to clear once big.bin is deleted",
  })
  expect(await e2e.cliOk(['status', '--dir', b.dir])).toMatch(/sync {5}up to date/)
}, 240_000)
