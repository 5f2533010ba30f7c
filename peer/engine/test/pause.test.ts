import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { PauseGate } from '../pause-gate.ts'
import { type Device, devicesOf, eventually, hash, text } from './two-devices.ts'

let t: TestCoordinator
let a: Device
let b: Device
const gates = [new PauseGate(), new PauseGate()] as const
/** Half a second: far longer than an unpaused engine takes to act on a change. */
const settle = () => new Promise((r) => setTimeout(r, 500))

beforeAll(async () => {
  t = await startCoordinator()
  ;[a, b] = (await devicesOf(t, 2, { gates: [...gates] })) as [Device, Device]
  await Promise.all([a.engine.start(), b.engine.start()])
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await t?.close()
})

describe('pause and resume', () => {
  it('a paused device applies no remote change, and applies it on resume', async () => {
    gates[1].pause()
    a.fs.writeFile('report.txt', text('written on A'))
    // B has heard of the change: its head is past its cursor, and nothing is applied.
    await eventually(() => expect(b.engine.remote.behind).toBeGreaterThan(0))
    // Time enough for a running engine to have applied it (it does within ms).
    await settle()
    expect(b.engine.remote.behind).toBeGreaterThan(0)
    expect(b.fs.readFile('report.txt')).toBeUndefined()
    gates[1].resume()
    await eventually(() =>
      expect(hash(b.fs.readFile('report.txt'))).toBe(hash(text('written on A'))),
    )
    expect(b.engine.remote.behind).toBe(0)
  })

  it('a paused device notices and queues local changes, and uploads them on resume', async () => {
    gates[0].pause()
    const commits = a.engine.uploader.counters.commits
    a.fs.writeFile('queued.txt', text('saved while paused'))
    await eventually(() => expect(a.engine.pendingPaths).toBeGreaterThan(0))
    // Time enough for a running engine to have taken the path up (it does within ms).
    await settle()
    expect(a.engine.pendingPaths).toBeGreaterThan(0)
    expect(a.engine.uploader.counters.commits).toBe(commits)
    gates[0].resume()
    await eventually(() =>
      expect(hash(b.fs.readFile('queued.txt'))).toBe(hash(text('saved while paused'))),
    )
    expect(a.engine.uploader.counters.commits).toBe(commits + 1)
  })

  it('an engine started paused starts, and syncs once resumed', async () => {
    gates[1].pause()
    await b.restart()
    a.fs.writeFile('after-restart.txt', text('while B restarted paused'))
    await eventually(() => expect(b.engine.remote.behind).toBeGreaterThan(0))
    await settle()
    expect(b.fs.readFile('after-restart.txt')).toBeUndefined()
    // Changes held back do not hold back the push channel: it is up, and says so.
    expect(b.engine.remote.connected).toBe(true)
    gates[1].resume()
    await eventually(() =>
      expect(hash(b.fs.readFile('after-restart.txt'))).toBe(hash(text('while B restarted paused'))),
    )
  })

  it('wait() rejects when its signal aborts while paused', async () => {
    const gate = new PauseGate(true)
    const stop = new AbortController()
    const waiting = gate.wait(stop.signal)
    stop.abort(new Error('stopped'))
    await expect(waiting).rejects.toThrow('stopped')
  })
})
