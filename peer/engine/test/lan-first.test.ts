/**
 * LAN first (docs/LAN-FIRST.md): a LAN device places another device's pending version as
 * soon as it holds every verified chunk, the commit confirms it without writing it again,
 * a superseding edit replaces it, and a device holding it finishes the upload when the
 * uploader goes away.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, hash, snapshot } from './two-devices.ts'

const MiB = 1024 * 1024
// Not a Buffer: the memory folder's reads of a Buffer share its memory, which the engine
// releases after use.
const random = (n: number) => new Uint8Array(randomBytes(n))
let t: TestCoordinator
let a: Device
let b: Device

async function start(putDelayMs: number | number[]) {
  ;[a, b] = (await devicesOf(t, 2, { swarm: true, putDelayMs })) as [Device, Device]
  await Promise.all([a.engine.start(), b.engine.start()])
  // Pending notices are live-only: B must be listening before A starts uploading.
  await eventually(() => expect(a.engine.remote.connected && b.engine.remote.connected).toBe(true))
}

beforeEach(async () => {
  t = await startCoordinator()
}, 120_000)
afterEach(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await t?.close()
}, 120_000)

describe('LAN-first sync', () => {
  it('places a pending upload before its commit, and the commit confirms it unwritten', async () => {
    // Each chunk PUT takes 4 s: the cloud copy is far slower than the LAN.
    await start(4_000)
    const video = random(6 * MiB)
    a.fs.writeFile('video.mp4', video)
    await eventually(() => expect(hash(b.fs.readFile('video.mp4'))).toBe(hash(video)), 20_000)
    // There before the cloud copy was done, recorded as the pending upload's.
    expect(a.engine.uploader.counters.commits).toBe(0)
    const placed = b.engine.provisional.get('video.mp4')
    expect(placed).toMatchObject({ base: null, manifest: { hash: expect.any(String) } })
    const placedStat = await b.fs.stat('video.mp4')
    await eventually(() => expect(b.engine.remote.counters.confirmed).toBe(1), 30_000)
    // The commit was recorded, not written again: the same file (inode, mtime), now synced.
    expect(await b.fs.stat('video.mp4')).toEqual(placedStat)
    expect(b.engine.remote.counters.written).toBe(0)
    expect(b.engine.provisional.list()).toEqual([])
    expect(await snapshot(b.fs)).toEqual(await snapshot(a.fs))
    // Nothing went up from B: the placed file is not its edit.
    expect(b.engine.local.counters.uploaded).toBe(0)
  }, 120_000)

  it('follows the uploader when a newer local change supersedes its upload', async () => {
    await start(3_000)
    const first = random(3 * MiB)
    a.fs.writeFile('doc.bin', first)
    await eventually(() => expect(hash(b.fs.readFile('doc.bin'))).toBe(hash(first)), 20_000)
    expect(a.engine.uploader.counters.commits).toBe(0)
    const second = random(3 * MiB)
    a.fs.writeFile('doc.bin', second)
    await eventually(async () => {
      expect(hash(b.fs.readFile('doc.bin'))).toBe(hash(second))
      expect(hash(a.fs.readFile('doc.bin'))).toBe(hash(second))
      expect(b.engine.provisional.list()).toEqual([])
      expect(a.engine.provisional.list()).toEqual([])
    }, 40_000)
    // No conflict copy and nothing stale, on either device.
    expect(Object.keys(await snapshot(a.fs))).toEqual(['doc.bin'])
    expect(await snapshot(b.fs)).toEqual(await snapshot(a.fs))
    expect(b.engine.local.counters.uploaded).toBe(0)
  }, 120_000)

  it('finishes the upload when the uploader goes away after the LAN device has it all', async () => {
    // The uploader's cloud PUTs take a minute and are cut off when it stops: only the
    // takeover can commit.
    await start([60_000, 0])
    const film = random(5 * MiB)
    a.fs.writeFile('film.mkv', film)
    await eventually(() => expect(b.engine.provisional.get('film.mkv')).toBeDefined(), 20_000)
    const sessionId = b.engine.provisional.get('film.mkv')!.sessionId
    await a.stop()
    await eventually(() => expect(b.engine.remote.counters.confirmed).toBe(1), 30_000)
    expect(b.engine.takeover.counters.finished).toBe(1)
    // The uploader's commit, made once: version 1, its device, the session it opened.
    const changes = await b.api.changes(0)
    expect(changes.changes.map((c) => [c.path, c.kind, c.version])).toEqual([
      ['film.mkv', 'created', 1],
    ])
    expect(changes.changes[0]!.deviceId).toBe(a.deviceId)
    const status = await b.api.uploadStatus(sessionId)
    expect(status.state).toBe('committed')
    expect(Object.keys(await snapshot(b.fs))).toEqual(['film.mkv'])
    expect(hash(b.fs.readFile('film.mkv'))).toBe(hash(film))
  }, 60_000)

  it('places an upload that began while the device was away, once it connects', async () => {
    ;[a, b] = (await devicesOf(t, 2, { swarm: true, putDelayMs: [60_000, 0] })) as [Device, Device]
    await a.engine.start()
    await eventually(() => expect(a.engine.remote.connected).toBe(true))
    const clip = random(3 * MiB)
    const expected = hash(clip)
    a.fs.writeFile('clip.mov', clip)
    await eventually(() => expect(a.engine.uploader.uploads.files.size).toBe(1), 20_000)
    // B missed the pending notice: it learns of the upload from GET /files/uploads.
    await b.engine.start()
    await eventually(() => expect(hash(b.fs.readFile('clip.mov'))).toBe(expected), 30_000)
    expect(b.engine.provisional.get('clip.mov')).toMatchObject({ deviceId: a.deviceId })
    expect(a.engine.uploader.counters.commits).toBe(0)
  }, 60_000)
})
