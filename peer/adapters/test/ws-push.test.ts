import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CloudsyncError } from '../../../protocol/errors.ts'
import type { ServerMessage } from '../../../protocol/schemas/ws.ts'
import { WebSocketPush } from '../ws-push.ts'
import {
  encryptFile,
  newAccount,
  randomText,
  startCoordinator,
  type TestCoordinator,
  tinyServer,
  uploadFile,
} from './coordinator-harness.ts'

let t: TestCoordinator
beforeAll(async () => {
  t = await startCoordinator()
})
afterAll(() => t.close())

/** Opens a channel that records messages; `until(n, type)` waits for n messages of a type. */
function listen(push: WebSocketPush, cursor: number, onEach?: (m: ServerMessage) => Promise<void>) {
  const got: ServerMessage[] = []
  const controller = new AbortController()
  let wake = () => {}
  const closed = push.open(
    cursor,
    async (m) => {
      await onEach?.(m)
      got.push(m)
      wake()
    },
    controller.signal,
  )
  const until = async (n: number, type: ServerMessage['type'] = 'change') => {
    const deadline = Date.now() + 10_000
    while (got.filter((m) => m.type === type).length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} ${type}`)
      await Promise.race([new Promise<void>((r) => (wake = r)), closed, sleep(200)])
    }
    return got
  }
  return { got, until, closed, stop: () => controller.abort() }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const changes = (got: ServerMessage[]) =>
  got.flatMap((m) => (m.type === 'change' ? [m.change.seq] : []))

it('says hello, gets ready, then changes of another device in order; a slow consumer holds them back', async () => {
  const { devices, secret } = await newAccount(t, 2)
  const [laptop, desktop] = devices
  const push = new WebSocketPush({ baseUrl: t.url, credential: desktop!.linked.credential })
  let slow = true
  const channel = listen(push, 0, async (m) => {
    // The first change takes a while: the ones behind it must wait, not overtake.
    if (m.type === 'change' && slow) {
      slow = false
      await sleep(150)
    }
  })
  await channel.until(1, 'ready')
  expect(channel.got[0]).toEqual({ type: 'ready', cursor: 0 })

  for (const [i, name] of ['a.txt', 'b.txt', 'c.txt'].entries()) {
    await uploadFile(laptop!.api, name, await encryptFile(secret, randomText(300, 10 + i)))
  }
  await channel.until(3)
  expect(changes(channel.got)).toEqual([1, 2, 3])
  const paths = channel.got.flatMap((m) => (m.type === 'change' ? [m.change.path] : []))
  expect(paths).toEqual(['a.txt', 'b.txt', 'c.txt'])
  // The coordinator announces uploads before they commit (peers may prefetch).
  expect(channel.got.some((m) => m.type === 'pending' && m.path === 'a.txt')).toBe(true)

  channel.stop()
  await channel.closed
})

it('reopened from its cursor, delivers only the newer changes', async () => {
  const { devices, secret } = await newAccount(t, 2)
  const [laptop, desktop] = devices
  const push = new WebSocketPush({ baseUrl: t.url, credential: desktop!.linked.credential })
  const first = listen(push, 0)
  await first.until(1, 'ready')
  await uploadFile(laptop!.api, 'one.txt', await encryptFile(secret, randomText(200, 20)))
  await first.until(1)
  first.stop()
  await first.closed
  const cursor = Math.max(...changes(first.got))

  // Committed while no channel is open: the next hello catches it up from the log.
  await uploadFile(laptop!.api, 'two.txt', await encryptFile(secret, randomText(200, 21)))
  const second = listen(push, cursor)
  await second.until(1, 'ready')
  expect(changes(second.got)).toEqual([cursor + 1])
  // The catch-up comes before `ready`, which names the cursor it reached.
  const order = second.got.filter((m) => m.type === 'change' || m.type === 'ready')
  expect(order.map((m) => m.type)).toEqual(['change', 'ready'])
  expect(order[1]).toEqual({ type: 'ready', cursor: cursor + 1 })
  second.stop()
  await second.closed
})

it('rejects with UNAVAILABLE when it cannot connect (closed port, refused credential)', async () => {
  // A port that was just listening and is now closed.
  const gone = await tinyServer(() => {})
  const url = gone.url
  await gone.close()
  const down = new WebSocketPush({ baseUrl: url, credential: 'x'.repeat(43) })
  const never = () => {}
  const err = await down.open(0, never, new AbortController().signal).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(CloudsyncError)
  expect((err as CloudsyncError).code).toBe('UNAVAILABLE')

  const stranger = new WebSocketPush({ baseUrl: t.url, credential: 'x'.repeat(43) })
  const refused = await stranger.open(0, never, new AbortController().signal).catch((e) => e)
  expect((refused as CloudsyncError).code).toBe('UNAVAILABLE')
})

it("rejects with the consumer's error and stops delivering", async () => {
  const { devices, secret } = await newAccount(t, 2)
  const push = new WebSocketPush({ baseUrl: t.url, credential: devices[1]!.linked.credential })
  await uploadFile(devices[0]!.api, 'x.txt', await encryptFile(secret, randomText(100, 30)))
  const seen: string[] = []
  const closed = push.open(
    0,
    (m) => {
      seen.push(m.type)
      if (m.type === 'change') throw new Error('disk full')
    },
    new AbortController().signal,
  )
  await expect(closed).rejects.toThrow('disk full')
  expect(seen).toEqual(['change'])
})

it('closes after a quiet spell (idle timeout), so the caller reconnects from its cursor', async () => {
  const { devices } = await newAccount(t)
  const push = new WebSocketPush({
    baseUrl: t.url,
    credential: devices[0]!.linked.credential,
    idleTimeoutMs: 300,
  })
  const channel = listen(push, 0)
  await channel.until(1, 'ready')
  const started = Date.now()
  await expect(channel.closed).resolves.toBeUndefined()
  expect(Date.now() - started).toBeLessThan(3_000)
})

it('skips message types it does not know and rejects a malformed known one', async () => {
  // A stand-in coordinator speaking a newer (or broken) protocol.
  const app = Fastify()
  await app.register(websocket)
  app.get('/sync/ws', { websocket: true }, (socket, request) => {
    // The credential travels as an upgrade header, as the real route expects it.
    if (request.headers.authorization !== `Bearer ${'c'.repeat(43)}`) return socket.close(4001)
    socket.on('message', () => {
      socket.send(JSON.stringify({ type: 'from-the-future', cursor: 9 }))
      socket.send(JSON.stringify({ type: 'ready', cursor: 0 }))
      socket.send(JSON.stringify({ type: 'change', change: { seq: 'one' } }))
      socket.send(JSON.stringify({ type: 'ready', cursor: 1 }))
    })
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  try {
    const push = new WebSocketPush({ baseUrl: url, credential: 'c'.repeat(43) })
    const got: ServerMessage[] = []
    const err = await push
      .open(0, (m) => void got.push(m), new AbortController().signal)
      .catch((e: unknown) => e)
    expect(got).toEqual([{ type: 'ready', cursor: 0 }])
    expect(err).toBeInstanceOf(CloudsyncError)
    expect((err as CloudsyncError).code).toBe('INTERNAL')
    expect((err as CloudsyncError).message).toMatch(/invalid frame.*change/)
  } finally {
    await app.close()
  }
})

it('stops connecting when aborted', async () => {
  const push = new WebSocketPush({ baseUrl: t.url, credential: 'x'.repeat(43) })
  const controller = new AbortController()
  const opening = push.open(0, () => {}, controller.signal)
  controller.abort()
  await expect(opening).resolves.toBeUndefined()
})

// Last: it stops the shared coordinator (afterAll's close is then a no-op).
it('resolves when the coordinator goes away', async () => {
  const { devices } = await newAccount(t)
  const push = new WebSocketPush({ baseUrl: t.url, credential: devices[0]!.linked.credential })
  const channel = listen(push, 0)
  await channel.until(1, 'ready')
  await t.close()
  await expect(channel.closed).resolves.toBeUndefined()
})
