/**
 * Scenario 3: a device of the account serves wrong bytes (lying-peer.ts, a real process
 * with a valid certificate). C tries it (the only online peer once the honest uploader has
 * stopped), detects every tampered chunk, takes those from the cloud, and writes a correct
 * file; its counters show the swarm failures and the cloud fallback.
 */
import { randomBytes } from 'node:crypto'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Coordinator,
  type Device,
  E2E,
  freshStatus,
  type Proc,
  sha256,
  sha256File,
  waitFor,
} from './harness.ts'

const MiB = 1024 * 1024

let e2e: E2E
let coordinator: Coordinator
let a: Device
let c: Device
let liarDevice: Device
let liar: Proc

beforeAll(async () => {
  e2e = await E2E.create('liar')
  coordinator = await e2e.startCoordinator()
  ;[a, c, liarDevice] = await e2e.account(coordinator, ['a', 'c', 'liar'])
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('a peer that serves wrong bytes', () => {
  test('C rejects its chunks, falls back to the cloud per chunk, and the file is right', async () => {
    liar = e2e.spawn('lying-peer', join(import.meta.dirname, 'lying-peer.ts'), [liarDevice.dir])
    await liar.waitForOutput(/^ready \S+/m, 60_000)
    await e2e.startDaemon(a)
    // Several chunks (min 1 MiB, average 4 MiB), so the liar is asked for more than one.
    const content = randomBytes(12 * MiB)
    const aside = join(e2e.root, 'photos.bin')
    await writeFile(aside, content)
    await rename(aside, join(a.dir, 'photos.bin'))
    await waitFor(
      async () => {
        const s = await freshStatus(a)
        return (s.local.uploaded ?? 0) >= 1 && s.pendingUploads === 0
      },
      { timeoutMs: 60_000, what: 'A to upload photos.bin' },
    )
    // The honest holder leaves: the liar is the only peer C can ask.
    await e2e.stopDaemon(a)
    await e2e.startDaemon(c)
    await waitFor(
      async () => (await sha256File(join(c.dir, 'photos.bin')).catch(() => '')) === sha256(content),
      { timeoutMs: 60_000, what: 'photos.bin correct on C' },
    )
    expect(liar.output).toMatch(/^served [0-9a-f]{64}$/m)
    const status = await freshStatus(c)
    const swarm = status.sources.swarm!
    const cloud = status.sources.cloud!
    // Every tampered chunk was caught, none was written; all bytes came from the cloud.
    expect(swarm.failures).toBeGreaterThanOrEqual(1)
    expect(swarm.bytes).toBe(0)
    expect(cloud.chunks).toBeGreaterThanOrEqual(2)
    expect(cloud.bytes).toBeGreaterThanOrEqual(content.length)
    const served = liar.output.match(/^served /gm)!.length
    expect(swarm.failures).toBeGreaterThanOrEqual(Math.min(served, cloud.chunks))
  }, 180_000)
})
