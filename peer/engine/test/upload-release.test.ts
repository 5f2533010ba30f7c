import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, hash } from './two-devices.ts'

let t: TestCoordinator
let a: Device
let b: Device
const putBodies: Uint8Array[] = []

beforeAll(async () => {
  t = await startCoordinator()
  ;[a, b] = (await devicesOf(t, 2, { putBodies })) as [Device, Device]
  await Promise.all([a.engine.start(), b.engine.start()])
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await t?.close()
})

describe('uploader: chunk buffers given back as soon as they are sent', () => {
  it('releases a lone upload’s ciphertexts once the cloud has them, and the cloud has them whole', async () => {
    // Several chunks (1 MiB at the least each), so more than one PUT body to look at.
    const body = new Uint8Array(randomBytes(12 * 1024 * 1024))
    a.fs.writeFile('big.bin', body)
    // B has no swarm: every byte it writes came from the cloud, so from those PUTs.
    await eventually(() => expect(hash(b.fs.readFile('big.bin'))).toBe(hash(body)), 20_000)
    // Only A uploads (B never sends back what it wrote).
    expect(putBodies.length).toBe(a.engine.uploader.counters.chunksSent)
    expect(putBodies.length).toBeGreaterThanOrEqual(2)
    expect(putBodies.map((bytes) => bytes.byteLength)).toEqual(putBodies.map(() => 0))
    // Released after they were counted: what was sent is the file and one tag per chunk.
    expect(a.engine.uploader.counters.bytesSent).toBe(body.length + 16 * putBodies.length)
  })
})
