/**
 * Scenario 7: the coordinator is killed (kill -9) while two devices run, and started
 * again on the same data dir and port. The devices reconnect and catch up from their
 * cursors: changes made on A while it was down and after it came back all reach B, and
 * B's changes reach A.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Coordinator,
  type Device,
  E2E,
  freshStatus,
  sha256,
  sleep,
  waitFor,
  waitForTrees,
} from './harness.ts'

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device
const expected = new Map<string, string>()

async function put(device: Device, path: string, content: string): Promise<void> {
  const full = join(device.dir, path)
  await mkdir(join(full, '..'), { recursive: true })
  await writeFile(full, content)
  expected.set(path, sha256(content))
}

beforeAll(async () => {
  e2e = await E2E.create('restart')
  coordinator = await e2e.startCoordinator()
  ;[a, b] = await e2e.account(coordinator, ['a', 'b'])
  await Promise.all([a, b].map((d) => e2e.startDaemon(d)))
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('coordinator restart while devices run', () => {
  test('changes made while it was down and after it came back all reach the other device', async () => {
    await put(a, 'before.txt', 'written before the crash\n')
    await put(a, 'edit-me.txt', 'first version\n')
    await put(a, 'move-me.txt', 'moved while the coordinator is down\n')
    await put(a, 'delete-me.txt', 'deleted while the coordinator is down\n')
    await waitForTrees([a, b], expected)
    const cursorBefore = (await freshStatus(b)).cursor

    await coordinator.proc.kill('SIGKILL')
    await waitFor(async () => !(await freshStatus(a)).connected, {
      timeoutMs: 30_000,
      what: 'A to notice the coordinator is gone',
    })
    await put(a, 'during/new.txt', 'created while the coordinator is down\n')
    await put(a, 'edit-me.txt', 'second version, made while it is down\n')
    await rename(join(a.dir, 'move-me.txt'), join(a.dir, 'during/moved.txt'))
    expected.set('during/moved.txt', expected.get('move-me.txt')!)
    expected.delete('move-me.txt')
    await rm(join(a.dir, 'delete-me.txt'))
    expected.delete('delete-me.txt')
    await sleep(2_000)

    coordinator = await e2e.startCoordinator({
      dataDir: coordinator.dataDir,
      port: coordinator.port,
    })
    await put(a, 'after.txt', 'created after it came back\n')
    await put(b, 'from-b.txt', 'B is back in business\n')
    await waitForTrees([a, b], expected, 90_000)

    for (const d of [a, b]) {
      const s = await freshStatus(d)
      expect(s.connected, d.name).toBe(true)
      expect(s.remote.reconnects, d.name).toBeGreaterThanOrEqual(1)
      expect(s.pendingUploads, d.name).toBe(0)
    }
    // B applied every change after its cursor, none skipped: 7 more in the log at least.
    expect((await freshStatus(b)).cursor).toBeGreaterThanOrEqual(cursorBefore + 6)
  }, 180_000)
})
