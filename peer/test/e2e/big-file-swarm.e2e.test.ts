/**
 * Scenario 2: a 256 MiB file written on A reaches B and C; then D, linked later, gets it
 * mostly from A and B through the swarm, not from the cloud (its counters prove it).
 */
import { randomBytes } from 'node:crypto'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Coordinator, type Device, E2E, freshStatus, sha256File, waitFor } from './harness.ts'

const MiB = 1024 * 1024
const SIZE = 256 * MiB
const NAME = 'big/video.bin'

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device
let c: Device
let hash: string

/** Random bytes written aside in slices, then renamed in, so the file appears whole. */
async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w')
  try {
    for (let done = 0; done < size; done += 8 * MiB) {
      await handle.write(randomBytes(Math.min(8 * MiB, size - done)))
    }
  } finally {
    await handle.close()
  }
}

async function waitForFile(device: Device, timeoutMs: number): Promise<void> {
  const path = join(device.dir, NAME)
  await waitFor(async () => (await sha256File(path)) === hash, {
    timeoutMs,
    intervalMs: 1_000,
    what: `${NAME} complete and correct on ${device.name}`,
  })
}

beforeAll(async () => {
  e2e = await E2E.create('big')
  coordinator = await e2e.startCoordinator()
  ;[a, b, c] = await e2e.account(coordinator, ['a', 'b', 'c'])
  await Promise.all([a, b, c].map((d) => e2e.startDaemon(d)))
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('a 256 MiB file and the swarm', () => {
  test('created on A, it reaches B and C intact', async () => {
    const aside = join(e2e.root, 'video.bin')
    await writeRandomFile(aside, SIZE)
    hash = await sha256File(aside)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(join(a.dir, 'big'))
    await rename(aside, join(a.dir, NAME))
    await Promise.all([waitForFile(b, 180_000), waitForFile(c, 180_000)])
  }, 240_000)

  test('D, linked later, takes >= 90% of its bytes from A and B', async () => {
    // C goes away: D's peers are A and B, which both hold the file.
    await e2e.stopDaemon(c)
    const d = await e2e.linkAnother(a, 'd')
    await e2e.startDaemon(d)
    await waitForFile(d, 180_000)
    const status = await freshStatus(d)
    const swarm = status.sources.swarm?.bytes ?? 0
    const cloud = status.sources.cloud?.bytes ?? 0
    expect(swarm + cloud).toBeGreaterThanOrEqual(SIZE)
    expect(swarm / (swarm + cloud)).toBeGreaterThanOrEqual(0.9)
    // Nothing failed on the way: every swarm chunk verified.
    expect(status.sources.swarm?.failures ?? 0).toBe(0)
  }, 240_000)
})
