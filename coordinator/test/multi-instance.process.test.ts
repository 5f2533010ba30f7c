/**
 * Coordinators as real processes on one Postgres (a fresh schema, chosen through
 * DATABASE_URL's search_path option) and one Redis: pushes cross instances, a device
 * survives the kill -9 of its instance by reconnecting from its cursor, and 50 concurrent
 * commits reach a listening socket exactly once, in order, without gaps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../store/index.ts'
import { createTestSchema, type TestSchema } from '../store/test/pg-harness.ts'
import { makeFile } from './harness.ts'
import {
  backendsReachable,
  type CoordinatorProcess,
  databaseUrlFor,
  linkAccount,
  REDIS_URL,
  sharedCoordinatorKey,
  spawnCoordinator,
  uploadVia,
} from './process-harness.ts'
import { connectWs, isOnline, type WsClient } from './ws-client.ts'

const reachable = await backendsReachable()
if (!reachable) {
  process.stderr.write('SKIPPED: multi-instance process tests need Postgres and Redis\n')
}

const seqsOf = (ws: WsClient) => ws.changes().map((c) => c.seq)
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.skipIf(!reachable)('two coordinator processes on one Postgres and one Redis', () => {
  let schema: TestSchema
  let db: Db
  let env: Record<string, string>
  let one: CoordinatorProcess
  let two: CoordinatorProcess
  const extra: CoordinatorProcess[] = []

  beforeAll(async () => {
    schema = await createTestSchema()
    env = {
      DATABASE_URL: databaseUrlFor(schema.name),
      REDIS_URL,
      COORDINATOR_KEY: sharedCoordinatorKey(),
    }
    // Started together: they also race to migrate the fresh schema.
    ;[one, two] = await Promise.all([spawnCoordinator(env), spawnCoordinator(env)])
    db = schema.open(2)
  }, 30_000)
  afterAll(async () => {
    await Promise.allSettled([one, two, ...extra].map((p) => p?.kill()))
    await db?.close()
    await schema?.drop()
  })

  it('pushes a change committed through one instance to a socket on the other, after its pending notice', async () => {
    const [laptop, desktop] = await linkAccount(db, one.url, ['laptop', 'desktop'])
    const ws = await connectWs(one.url, desktop!.credential)
    ws.hello(0)
    await ws.until('ready', (m) => m.some((x) => x.type === 'ready'))
    // Presence crosses instances too: the socket is on one, the question goes to two.
    const listed = await laptop!.call(two.url, 'GET', '/devices')
    expect(isOnline(listed.body.devices, desktop!.deviceId)).toBe(true)

    const { result } = await uploadVia(laptop!, two.url, 'docs/a.txt', makeFile([64]))
    await ws.until('the change', () => seqsOf(ws).includes(1))
    const types = ws.messages.map((m) => m.type).filter((t) => t === 'pending' || t === 'change')
    expect(types).toEqual(['pending', 'change'])
    const pending = ws.messages.find((m) => m.type === 'pending')
    expect(pending).toMatchObject({ path: 'docs/a.txt', deviceId: laptop!.deviceId })
    expect(ws.changes()[0]).toMatchObject({ seq: 1, path: 'docs/a.txt', fileId: result.fileId })
    await ws.close()
  })

  it('after kill -9 of its instance, a device reconnects from its cursor and sees every change once, in order', async () => {
    const victim = await spawnCoordinator(env)
    extra.push(victim)
    const [laptop, desktop] = await linkAccount(db, two.url, ['laptop', 'desktop'])
    const first = await connectWs(victim.url, desktop!.credential)
    first.hello(0)
    await first.until('ready', (m) => m.some((x) => x.type === 'ready'))

    // Commits keep coming through instance two the whole time.
    const total = 30
    let committed = 0
    const writer = (async () => {
      for (let i = 1; i <= total; i++) {
        await uploadVia(laptop!, two.url, `f/${i}.txt`, makeFile([32]))
        committed = i
      }
    })()
    await first.until('ten changes', () => seqsOf(first).length >= 10)
    await victim.kill('SIGKILL')
    await first.closed
    const cursor = first.changes().at(-1)!.seq
    // Changes committed while the device has no socket must come from the catch-up.
    while (committed < cursor + 3) await new Promise((r) => setTimeout(r, 10))

    const second = await connectWs(one.url, desktop!.credential)
    second.hello(cursor)
    await second.until('ready', (m) => m.some((x) => x.type === 'ready'))
    const caughtUp = second.messages.findIndex((m) => m.type === 'ready')
    expect(second.messages.slice(0, caughtUp).length).toBeGreaterThanOrEqual(3)
    await writer
    await second.until(`all ${total} changes`, () => seqsOf(second).at(-1) === total)
    // Across both sockets: 1..30, each once, in order.
    expect([...seqsOf(first), ...seqsOf(second)]).toEqual(range(1, total))
    expect(first.changes().map((c) => c.path)).toEqual(range(1, cursor).map((i) => `f/${i}.txt`))
    await second.close()
  }, 20_000)

  it('a coordinator stopping gracefully takes its devices offline at once, and says so', async () => {
    const leaving = await spawnCoordinator(env)
    extra.push(leaving)
    const [laptop, desktop] = await linkAccount(db, two.url, ['laptop', 'desktop'])
    const watcher = await connectWs(two.url, laptop!.credential)
    watcher.hello(0)
    const ws = await connectWs(leaving.url, desktop!.credential)
    await watcher.until('the desktop online', () =>
      isOnline(watcher.lastDevices(), desktop!.deviceId),
    )
    await leaving.kill('SIGTERM')
    await ws.closed
    // Not after the 60 s lease: the instance removed its presence before it exited.
    const listed = await laptop!.call(two.url, 'GET', '/devices')
    expect(isOnline(listed.body.devices, desktop!.deviceId)).toBe(false)
    await watcher.until('the desktop offline', () =>
      watcher.lastDevices()!.some((d) => d.deviceId === desktop!.deviceId && !d.online),
    )
    await watcher.close()
  })

  it('delivers 50 concurrent commits to a listening socket exactly once, in order, gapless', async () => {
    const [laptop, desktop] = await linkAccount(db, one.url, ['laptop', 'desktop'])
    const ws = await connectWs(one.url, desktop!.credential)
    ws.hello(0)
    await ws.until('ready', (m) => m.some((x) => x.type === 'ready'))

    const commits = 50
    // Through both instances at once: commit order and publish order differ across them.
    const results = await Promise.all(
      range(1, commits).map((i) =>
        uploadVia(laptop!, i % 2 ? one.url : two.url, `c/${i}.bin`, makeFile([16])),
      ),
    )
    await ws.until(`${commits} changes`, () => seqsOf(ws).length >= commits)
    await new Promise((r) => setTimeout(r, 200)) // a late duplicate would show up by now
    expect(seqsOf(ws)).toEqual(range(1, commits))
    const pushed = new Set(ws.changes().map((c) => c.fileId))
    expect(pushed).toEqual(new Set(results.map((r) => r.result.fileId)))
    await ws.close()
  }, 20_000)
})
