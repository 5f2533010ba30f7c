import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, hash, snapshot, text } from './two-devices.ts'

let t: TestCoordinator
let a: Device
let b: Device

beforeAll(async () => {
  t = await startCoordinator()
  ;[a, b] = (await devicesOf(t, 2)) as [Device, Device]
  await Promise.all([a.engine.start(), b.engine.start()])
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await t?.close()
})

describe('sync engine, two devices, one real coordinator', () => {
  it('propagates a new file and never uploads back what it just wrote', async () => {
    a.fs.writeFile('notes/today.txt', text('first draft'))
    await eventually(() =>
      expect(hash(b.fs.readFile('notes/today.txt'))).toBe(hash(text('first draft'))),
    )
    await new Promise((r) => setTimeout(r, 300))
    expect(b.engine.uploader.counters.commits).toBe(0)
    expect(a.engine.uploader.counters.commits).toBe(1)
  })

  it('propagates an edit, an empty file and a 0-byte edit', async () => {
    a.fs.writeFile('notes/today.txt', text('second draft, longer than the first'))
    a.fs.writeFile('empty', new Uint8Array())
    await eventually(() =>
      expect(hash(b.fs.readFile('notes/today.txt'))).toBe(
        hash(text('second draft, longer than the first')),
      ),
    )
    await eventually(() => expect(b.fs.readFile('empty')?.length).toBe(0))
    a.fs.writeFile('notes/today.txt', new Uint8Array())
    await eventually(() => expect(b.fs.readFile('notes/today.txt')?.length).toBe(0))
  })

  it('sends a rename as a move: no chunk is uploaded again', async () => {
    const body = new Uint8Array(50_000).map((_, i) => (i * 7919) % 251)
    a.fs.writeFile('photo.raw', body)
    await eventually(() => expect(hash(b.fs.readFile('photo.raw'))).toBe(hash(body)))
    const sentBefore = a.engine.uploader.counters.chunksSent
    await a.fs.rename('photo.raw', 'album/photo.raw')
    await eventually(() => expect(hash(b.fs.readFile('album/photo.raw'))).toBe(hash(body)))
    await eventually(() => expect(b.fs.readFile('photo.raw')).toBeUndefined())
    expect(a.engine.local.counters.moved).toBe(1)
    expect(a.engine.uploader.counters.chunksSent).toBe(sentBefore)
  })

  it('pairs a removal and an addition from separate batches as a move', async () => {
    const body = new Uint8Array(40_000).map((_, i) => (i * 104729) % 253)
    a.fs.writeFile('draft.doc', body)
    await eventually(() => expect(hash(b.fs.readFile('draft.doc'))).toBe(hash(body)))
    const moved = a.engine.local.counters.moved
    const sent = a.engine.uploader.counters.chunksSent
    a.fs.deleteFile('draft.doc')
    await new Promise((r) => setTimeout(r, 300))
    a.fs.writeFile('final/draft.doc', body)
    await eventually(() => expect(hash(b.fs.readFile('final/draft.doc'))).toBe(hash(body)))
    await eventually(() => expect(b.fs.readFile('draft.doc')).toBeUndefined())
    expect(a.engine.local.counters.moved).toBe(moved + 1)
    expect(a.engine.uploader.counters.chunksSent).toBe(sent)
  })

  it('propagates a delete', async () => {
    a.fs.writeFile('trash.txt', text('delete me'))
    await eventually(() => expect(b.fs.readFile('trash.txt')).toBeDefined())
    b.fs.deleteFile('trash.txt')
    await eventually(() => expect(a.fs.readFile('trash.txt')).toBeUndefined())
  })

  it('keeps both versions of a concurrent edit: one at the path, one as a conflict copy', async () => {
    a.fs.writeFile('plan.md', text('v1'))
    await eventually(() => expect(hash(b.fs.readFile('plan.md'))).toBe(hash(text('v1'))))
    await b.stop()
    a.fs.writeFile('plan.md', text('edited on A'))
    await eventually(() => expect(a.engine.uploader.counters.commits).toBeGreaterThanOrEqual(1))
    await eventually(
      async () => (await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode === 200,
    )
    b.fs.writeFile('plan.md', text('edited on B'))
    await b.restart()
    const contents = [hash(text('edited on A')), hash(text('edited on B'))].sort()
    // Last write wins the path: B's edit; A's displaced version becomes the copy.
    await eventually(() => expect(hash(a.fs.readFile('plan.md'))).toBe(hash(text('edited on B'))))
    for (const device of [a, b]) {
      await eventually(async () => {
        const files = await snapshot(device.fs)
        const plans = Object.entries(files).filter(([p]) => p.startsWith('plan'))
        expect(plans.map(([, h]) => h).sort()).toEqual(contents)
        expect(plans.some(([p]) => /^plan \(conflicted copy from .+\)\.md$/.test(p))).toBe(true)
      })
    }
    expect(await snapshot(a.fs)).toEqual(await snapshot(b.fs))
  })

  it('lets an edit beat a concurrent delete', async () => {
    a.fs.writeFile('keep.txt', text('original'))
    await eventually(() => expect(b.fs.readFile('keep.txt')).toBeDefined())
    await b.stop()
    const deleted = a.engine.local.counters.deleted
    a.fs.deleteFile('keep.txt')
    await eventually(() => expect(a.engine.local.counters.deleted).toBe(deleted + 1))
    b.fs.writeFile('keep.txt', text('edited while A deleted it'))
    await b.restart()
    for (const device of [a, b]) {
      await eventually(() =>
        expect(hash(device.fs.readFile('keep.txt'))).toBe(hash(text('edited while A deleted it'))),
      )
    }
  })

  it('ends with identical folders', async () => {
    await eventually(async () => expect(await snapshot(b.fs)).toEqual(await snapshot(a.fs)))
  })
})
