import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerMessage } from '../../../protocol/schemas/ws.ts'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { DEFAULT_HEAD_CHECK_MS } from '../head-watch.ts'
import { type Device, devicesOf, eventually, hash, text } from './two-devices.ts'

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

describe('a live device behind the coordinator', () => {
  it('notices a change whose push was lost, says how far behind it is, and catches up', async () => {
    await eventually(() => expect(b.engine.remote.connected).toBe(true))
    // The bus is at-most-once: drop the push of the next change, as a lost publish would.
    const feed = t.app.feed
    const publish = feed.publish.bind(feed)
    let dropped = 0
    feed.publish = async (accountId: string, message: ServerMessage) => {
      if (message.type === 'change' && dropped === 0) {
        dropped++
        return
      }
      return publish(accountId, message)
    }
    a.fs.writeFile('lost-push.txt', text('nobody told b'))
    await eventually(() => expect(dropped).toBe(1))
    // B learns the head at its next read, and reports one change it does not have.
    await eventually(() => expect(b.engine.remote.behind).toBe(1), 3 * DEFAULT_HEAD_CHECK_MS)
    expect(b.fs.readFile('lost-push.txt')).toBeUndefined()
    // Still behind at the read after: it reads the log by itself, with no new change to help.
    await eventually(
      () => expect(hash(b.fs.readFile('lost-push.txt'))).toBe(hash(text('nobody told b'))),
      3 * DEFAULT_HEAD_CHECK_MS,
    )
    await eventually(() => expect(b.engine.remote.behind).toBe(0))
    expect(b.engine.remote.counters.catchUps).toBe(1)
  }, 60_000)
})
