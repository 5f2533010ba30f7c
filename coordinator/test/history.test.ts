/** A path's history and old versions' metadata: what `cloudsync history` and `restore` read. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, startApp, type TestApp } from './harness.ts'

let t: TestApp
beforeAll(async () => {
  t = await startApp({ listen: true })
})
afterAll(() => t?.close())

describe('path history', () => {
  it('lists writes, a move (no new version) and a delete newest first, and serves each version', async () => {
    const [laptop] = await newAccount(t.app)
    const first = makeFile([120])
    const second = makeFile([80, 40])
    const v1 = await upload(laptop!, 'notes/a.txt', first, null)
    await upload(laptop!, 'notes/a.txt', second, 1)
    const fileId = v1.result.fileId as string
    const moved = await laptop!.call({
      method: 'POST',
      url: `/files/${fileId}/move`,
      payload: { to: 'notes/b.txt', baseVersion: 2 },
    })
    expect(moved.statusCode, moved.body).toBe(200)
    const gone = await laptop!.call({
      method: 'DELETE',
      url: `/files/${fileId}`,
      payload: { baseVersion: 2 },
    })
    expect(gone.statusCode, gone.body).toBe(200)

    const a = await laptop!.call({ method: 'GET', url: '/files/history?path=notes/a.txt' })
    expect(a.statusCode, a.body).toBe(200)
    expect(a.json().events.map((e: { kind: string }) => e.kind)).toEqual([
      'moved',
      'modified',
      'created',
    ])
    const b = await laptop!.call({ method: 'GET', url: '/files/history?path=notes/b.txt' })
    const events = b.json().events as { kind: string; version: number; hash: string }[]
    expect(events.map((e) => [e.kind, e.version])).toEqual([
      ['deleted', 2],
      ['moved', 2],
    ])
    expect(events[0]!.hash).toBe(second.manifest.hash)

    const old = await laptop!.call({ method: 'GET', url: `/files/${fileId}/metadata?version=1` })
    expect(old.statusCode, old.body).toBe(200)
    expect(old.json()).toMatchObject({ version: 1, hash: first.manifest.hash, deleted: true })
    expect(old.json().chunks).toEqual(first.manifest.chunks)
    const none = await laptop!.call({ method: 'GET', url: `/files/${fileId}/metadata?version=9` })
    expect(none.statusCode).toBe(404)
  })

  it('shows another account nothing, and refuses a bad path or limit', async () => {
    const [mine] = await newAccount(t.app)
    const [theirs] = await newAccount(t.app)
    await upload(mine!, 'private.txt', makeFile([64]), null)
    const seen = await theirs!.call({ method: 'GET', url: '/files/history?path=private.txt' })
    expect(seen.statusCode).toBe(200)
    expect(seen.json().events).toEqual([])
    for (const query of ['path=../x', 'path=a&limit=0', 'limit=3']) {
      const res = await mine!.call({ method: 'GET', url: `/files/history?${query}` })
      expect(res.statusCode, query).toBe(400)
    }
  })
})
