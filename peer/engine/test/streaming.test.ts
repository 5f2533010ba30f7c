import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, hash } from './two-devices.ts'

let t: TestCoordinator
let a: Device
let b: Device

beforeAll(async () => {
  t = await startCoordinator()
  // Each chunk PUT takes 400 ms: the upload is in flight long enough for B to see it.
  ;[a, b] = (await devicesOf(t, 2, { swarm: true, putDelayMs: 400 })) as [Device, Device]
  await Promise.all([a.engine.start(), b.engine.start()])
  // Pending notices are live-only: B must be listening before A starts uploading.
  await eventually(() => expect(a.engine.remote.connected && b.engine.remote.connected).toBe(true))
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await t?.close()
})

describe('streaming sync: LAN peers pull an upload while it is still going to the cloud', () => {
  it('writes the committed file from chunks prefetched from the uploader, none from the cloud', async () => {
    const video = randomBytes(12 * 1024 * 1024)
    a.fs.writeFile('video.mp4', video)
    await eventually(
      () => expect(b.engine.fetcher.counters.prefetch?.chunks).toBeGreaterThan(0),
      20_000,
    )
    // The prefetch finished before A's slowed upload could have committed.
    expect(a.engine.uploader.counters.commits).toBe(0)
    await eventually(() => expect(hash(b.fs.readFile('video.mp4'))).toBe(hash(video)), 30_000)
    const sources = b.engine.fetcher.counters
    expect(sources.prefetch?.bytes).toBeGreaterThan(video.length)
    expect(sources.cloud?.bytes ?? 0).toBe(0)
    expect(sources.swarm?.bytes ?? 0).toBe(0)
    // Written once, into the temp file the prefetch filled, placed ahead of the commit
    // (docs/LAN-FIRST.md), which confirmed it.
    expect(b.engine.prefetcher!.counters).toMatchObject({ staged: 1, placed: 1 })
    await eventually(() => expect(b.engine.remote.counters.confirmed).toBe(1), 30_000)
    // A read and encrypted each chunk once, for its cloud PUT and for B alike.
    expect(a.engine.uploader.counters.encryptionsShared).toBeGreaterThan(0)
  })

  it('sends the encoder’s ciphertexts to the cloud and to B: A encrypts no chunk a second time', async () => {
    const again = a.engine.uploader.counters.encryptedAgain
    const shared = a.engine.uploader.counters.encryptionsShared
    const commits = a.engine.uploader.counters.commits
    const sent = a.engine.uploader.counters.chunksSent
    // Within the shared cache's budget, so every chunk's ciphertext is kept from the encode.
    const photos = randomBytes(12 * 1024 * 1024)
    a.fs.writeFile('photos.tar', photos)
    await eventually(() => expect(hash(b.fs.readFile('photos.tar'))).toBe(hash(photos)), 30_000)
    await eventually(() => expect(a.engine.uploader.counters.commits).toBe(commits + 1), 30_000)
    expect(a.engine.uploader.counters.encryptedAgain - again).toBe(0)
    // Every cloud PUT took a kept ciphertext.
    const puts = a.engine.uploader.counters.chunksSent - sent
    expect(puts).toBeGreaterThanOrEqual(2)
    expect(a.engine.uploader.counters.encryptionsShared - shared).toBeGreaterThanOrEqual(puts)
  })
})
