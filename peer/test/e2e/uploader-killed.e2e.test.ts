/**
 * Issue 14, item 5: two devices prefetch a big file from a third, which is killed -9 while
 * they pull it and restarted 3 s later. Both receivers must apply the file, and a change
 * made afterwards must not queue behind it: nothing waits on a peer that is gone.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Coordinator,
  type Device,
  E2E,
  readStatus,
  sha256,
  sha256File,
  sleep,
  waitFor,
  waitForTrees,
} from './harness.ts'

const MiB = 1024 * 1024
const SIZE = 160 * MiB
/** Chunks the receivers pull from the uploader before it is killed. */
const PULLED_BEFORE_KILL = 8

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device
let c: Device

beforeAll(async () => {
  e2e = await E2E.create('uploader-killed')
  coordinator = await e2e.startCoordinator()
  ;[a, b, c] = await e2e.account(coordinator, ['a', 'b', 'c'])
  for (const d of [a, b, c]) await e2e.startDaemon(d)
}, 300_000)

afterAll(async () => {
  await e2e?.cleanup()
})

/** Chunks a device pulled ahead of the commit (its prefetch source). */
async function prefetched(device: Device): Promise<number> {
  return (await readStatus(device))?.sources.prefetch?.chunks ?? 0
}

describe('the uploader killed while two devices pull from it', () => {
  test('both receivers apply the file, and a later change is not stuck behind it', async () => {
    const aside = join(e2e.root, 'big.bin')
    const handle = await open(aside, 'w')
    for (let done = 0; done < SIZE; done += 8 * MiB) await handle.write(randomBytes(8 * MiB))
    await handle.close()
    const hash = await sha256File(aside)
    await mkdir(join(a.dir, 'big'))
    await rename(aside, join(a.dir, 'big', 'video.bin'))

    await waitFor(async () => (await prefetched(b)) + (await prefetched(c)) >= PULLED_BEFORE_KILL, {
      timeoutMs: 120_000,
      intervalMs: 50,
      what: 'B and C to pull some chunks from A',
    })
    await e2e.stopDaemon(a, 'SIGKILL')
    await sleep(3_000)
    await e2e.startDaemon(a)

    const expected = new Map([['big/video.bin', hash]])
    await waitForTrees([a, b, c], expected, 150_000)
    // A change made now arrives promptly: no receiver is parked on the killed run's peer.
    await writeFile(join(a.dir, 'after.txt'), 'after the kill\n')
    expected.set('after.txt', sha256('after the kill\n'))
    await waitForTrees([a, b, c], expected, 30_000)
    const cursors = await waitFor(
      async () => {
        const all = await Promise.all([a, b, c].map(async (d) => (await readStatus(d))?.cursor))
        return new Set(all).size === 1 && all
      },
      { timeoutMs: 10_000, what: 'the three devices at one cursor' },
    )
    expect(cursors[0]).toBeGreaterThanOrEqual(2)
  }, 360_000)
})
