import { afterAll, beforeAll, expect, it } from 'vitest'
import { parseServerMessage, type ServerMessage } from '../../protocol/schemas/ws.ts'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, startApp, type TestApp } from './harness.ts'

let t: TestApp
beforeAll(async () => {
  t = await startApp({ listen: true })
})
afterAll(() => t.close())

/** Collects parsed server messages but `devices` (presence, tested in
 * presence.test.ts); `next(n)` waits until n have arrived. */
function collect(ws: WebSocket) {
  const got: ServerMessage[] = []
  let wake = () => {}
  ws.addEventListener('message', (e) => {
    const message = parseServerMessage(String(e.data))
    if (message.type === 'devices') return
    got.push(message)
    wake()
  })
  return {
    got,
    async next(n: number) {
      while (got.length < n) await new Promise<void>((r) => (wake = r))
      return got
    },
  }
}

it('catches a device up from its cursor, then pushes live changes and pending uploads', async () => {
  const [laptop, desktop] = await newAccount(t.app, ['laptop', 'desktop'])
  await upload(laptop!, 'one.txt', makeFile([5]), null)
  const ws = await t.app.injectWS('/sync/ws', {
    headers: { authorization: `Bearer ${desktop!.credential}` },
  })
  const messages = collect(ws as unknown as WebSocket)
  ws.send(JSON.stringify({ type: 'hello', cursor: 0 }))
  await messages.next(2)
  expect(messages.got[0]).toMatchObject({ type: 'change', change: { seq: 1, path: 'one.txt' } })
  expect(messages.got[1]).toEqual({ type: 'ready', cursor: 1 })

  await upload(laptop!, 'two.txt', makeFile([5]), null)
  const all = await messages.next(4)
  expect(all[2]).toMatchObject({ type: 'pending', path: 'two.txt', deviceId: laptop!.deviceId })
  expect(all[3]).toMatchObject({ type: 'change', change: { seq: 2, path: 'two.txt' } })
  // An edit's notice names its base: LAN devices place it ahead of the commit only on it.
  const first = all[0]!
  const v1 = first.type === 'change' ? first.change.fileId : undefined
  await upload(laptop!, 'one.txt', makeFile([6]), 1)
  const more = await messages.next(6)
  expect(more[4]).toMatchObject({
    type: 'pending',
    path: 'one.txt',
    base: { fileId: v1, version: 1 },
  })
  ws.terminate()
})

it('refuses the upgrade without a credential', async () => {
  await expect(t.app.injectWS('/sync/ws')).rejects.toThrow(/401/)
})
