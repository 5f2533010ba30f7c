/**
 * `GET /sync/snapshot`: the live tree at a cursor, paged, never another account's, and bad
 * cursors or pages refused with a clear error (issue 14, item 7).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseServerMessage, type ServerMessage } from '../../protocol/schemas/ws.ts'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, startApp, type TestApp, type TestDevice } from './harness.ts'

let t: TestApp
beforeAll(async () => {
  t = await startApp({ listen: true })
})
afterAll(() => t?.close())

interface Listed {
  fileId: string
  path: string
  version: number
}

async function snapshotOf(device: TestDevice, query: string) {
  return device.call({ method: 'GET', url: `/sync/snapshot${query}` })
}

/** Every page of one snapshot, checking each names the same cursor. */
async function allPages(device: TestDevice, limit: number, at?: number) {
  const files: Listed[] = []
  let first = await snapshotOf(device, `?limit=${limit}${at === undefined ? '' : `&at=${at}`}`)
  expect(first.statusCode, first.body).toBe(200)
  const cursor = first.json().at as number
  let pages = 0
  for (let page = first.json(); ; ) {
    pages++
    expect(page.at).toBe(cursor)
    expect(page.files.length).toBeLessThanOrEqual(limit)
    files.push(
      ...page.files.map((f: Listed) => ({ fileId: f.fileId, path: f.path, version: f.version })),
    )
    if (page.next === undefined) break
    first = await snapshotOf(device, `?at=${cursor}&after=${page.next}&limit=${limit}`)
    expect(first.statusCode, first.body).toBe(200)
    page = first.json()
  }
  return { at: cursor, files, pages }
}

const paths = (files: Listed[]) => files.map((f) => f.path).sort()

async function head(device: TestDevice): Promise<number> {
  return (await device.call({ method: 'GET', url: '/sync/changes?cursor=0&limit=1' })).json().head
}

describe('GET /sync/snapshot', () => {
  it('lists the live files at a cursor, whatever commits after it, in pages that agree', async () => {
    const [laptop] = await newAccount(t.app, ['laptop'])
    const device = laptop!
    const kept = await upload(device, 'keep.txt', makeFile([10]), null)
    const gone = await upload(device, 'gone.bin', makeFile([30, 40]), null)
    const moved = await upload(device, 'old/name.txt', makeFile([20]), null)
    await upload(device, 'keep.txt', makeFile([11]), 1)
    const del = await device.call({
      method: 'DELETE',
      url: `/files/${gone.result.fileId}`,
      payload: { baseVersion: 1 },
    })
    expect(del.statusCode, del.body).toBe(200)
    const mv = await device.call({
      method: 'POST',
      url: `/files/${moved.result.fileId}/move`,
      payload: { to: 'new/name.txt', baseVersion: 1 },
    })
    expect(mv.statusCode, mv.body).toBe(200)
    const at = await head(device)
    expect(at).toBe(6)

    const now = await allPages(device, 100)
    expect(now.at).toBe(at)
    expect(paths(now.files)).toEqual(['keep.txt', 'new/name.txt'])
    expect(now.files.find((f) => f.path === 'keep.txt')).toMatchObject({
      fileId: kept.result.fileId,
      version: 2,
    })
    const page = (await snapshotOf(device, '')).json()
    const keep = page.files.find((f: Listed) => f.path === 'keep.txt')
    expect(keep.chunks).toHaveLength(1)
    expect(keep.size).toBe(11)

    // Later commits do not change the tree at `at`; the head's tree has them.
    await upload(device, 'later.txt', makeFile([5]), null)
    await device.call({
      method: 'DELETE',
      url: `/files/${kept.result.fileId}`,
      payload: { baseVersion: 2 },
    })
    const then = await allPages(device, 1, at)
    expect(then.pages).toBe(2)
    expect(paths(then.files)).toEqual(['keep.txt', 'new/name.txt'])
    expect(new Set(then.files.map((f) => f.fileId)).size).toBe(2)
    expect(paths((await allPages(device, 1)).files)).toEqual(['later.txt', 'new/name.txt'])
    // Before the move, the file was at its old path; before anything, nothing was.
    expect(paths((await allPages(device, 10, 3)).files)).toEqual([
      'gone.bin',
      'keep.txt',
      'old/name.txt',
    ])
    expect(await allPages(device, 10, 0)).toMatchObject({ at: 0, files: [], pages: 1 })

    // From cursor 3 to 6: what changed in between, the deleted file as a tombstone only.
    const since = (await snapshotOf(device, `?at=${at}&since=3`)).json()
    const byPath = Object.fromEntries(since.files.map((f: Listed) => [f.path, f]))
    expect(Object.keys(byPath).sort()).toEqual(['gone.bin', 'keep.txt', 'new/name.txt'])
    expect(byPath['gone.bin']).toMatchObject({ fileId: gone.result.fileId, deleted: true })
    expect(byPath['gone.bin'].chunks).toBeUndefined()
    expect(byPath['new/name.txt'].deleted).toBeUndefined()
    expect(byPath['new/name.txt'].chunks).toHaveLength(1)
    // From cursor 5 only the move is new; from the head nothing is.
    const fromFive = (await snapshotOf(device, `?at=${at}&since=5`)).json().files
    expect(fromFive.map((f: Listed) => f.path)).toEqual(['new/name.txt'])
    expect((await snapshotOf(device, `?at=${at}&since=${at}`)).json().files).toEqual([])
    // since=0 named: a device at cursor 0 may hold files it uploaded, so deletions come too;
    // without since, the live tree only.
    const fromZero = (await snapshotOf(device, `?at=${at}&since=0`)).json().files
    expect(fromZero.find((f: Listed) => f.path === 'gone.bin')).toMatchObject({ deleted: true })
    const live = (await snapshotOf(device, `?at=${at}`)).json().files
    expect(live.map((f: Listed) => f.path)).not.toContain('gone.bin')
  })

  it("never lists another account's files", async () => {
    const [mine] = await newAccount(t.app, ['mine'])
    const [theirs] = await newAccount(t.app, ['theirs'])
    await upload(mine!, 'mine.txt', makeFile([10]), null)
    await upload(theirs!, 'theirs-1.txt', makeFile([10]), null)
    const other = await upload(theirs!, 'theirs-2.txt', makeFile([10]), null)
    expect(paths((await allPages(mine!, 100)).files)).toEqual(['mine.txt'])
    expect(paths((await allPages(theirs!, 1)).files)).toEqual(['theirs-1.txt', 'theirs-2.txt'])
    // Their head is 2, mine is 1: their cursor is beyond mine, and their file ids page nothing.
    const beyond = await snapshotOf(mine!, '?at=2')
    expect(beyond.statusCode).toBe(400)
    const afterTheirs = await snapshotOf(mine!, `?at=1&after=00000000-0000-4000-8000-000000000000`)
    expect(paths(afterTheirs.json().files)).toEqual(['mine.txt'])
    expect(other.result.fileId).not.toBe(afterTheirs.json().files[0].fileId)
  })

  it('refuses bad cursors and pages clearly, and strangers', async () => {
    const [device] = await newAccount(t.app, ['laptop'])
    await upload(device!, 'a.txt', makeFile([10]), null)
    const refused = async (query: string, message: RegExp) => {
      const res = await snapshotOf(device!, query)
      expect(res.statusCode, query).toBe(400)
      expect(res.json().error.code).toBe('INVALID_INPUT')
      expect(res.json().error.message).toMatch(message)
    }
    await refused('?at=2', /cursor 2 is beyond the account's head 1/)
    await refused('?at=1&since=2', /since 2 is beyond the snapshot's cursor 1/)
    await refused('?since=-3', /since/)
    await refused('?at=-1', /at/)
    await refused('?at=x', /at/)
    await refused('?after=00000000-0000-4000-8000-000000000000', /`after` needs the `at`/)
    await refused('?at=1&after=not-a-file-id', /after/)
    await refused('?limit=0', /limit/)
    await refused('?limit=5000', /limit/)
    await refused('?at=1&page=2', /page|additional/i)
    const stranger = await t.app.inject({ method: 'GET', url: '/sync/snapshot' })
    expect(stranger.statusCode).toBe(401)
  })
})

describe('a hello far behind', () => {
  /** The first non-`devices` message the socket gets after a hello. */
  async function answerTo(device: TestDevice, hello: object): Promise<ServerMessage> {
    const ws = await t.app.injectWS('/sync/ws', {
      headers: { authorization: `Bearer ${device.credential}` },
    })
    try {
      const answer = new Promise<ServerMessage>((resolve) => {
        ws.on('message', (data: Buffer) => {
          const message = parseServerMessage(String(data))
          if (message.type !== 'devices') resolve(message)
        })
      })
      ws.send(JSON.stringify({ type: 'hello', ...hello }))
      return await answer
    } finally {
      ws.terminate()
    }
  }

  it('is answered `behind` instead of the replay when it asks, and replayed when it does not', async () => {
    const [device] = await newAccount(t.app, ['laptop'])
    for (const name of ['a', 'b', 'c']) await upload(device!, `${name}.txt`, makeFile([5]), null)
    expect(await answerTo(device!, { cursor: 0, replayAtMost: 1000 })).toEqual({
      type: 'behind',
      cursor: 0,
      head: 3,
    })
    expect(await answerTo(device!, { cursor: 1, replayAtMost: 1 })).toEqual({
      type: 'behind',
      cursor: 1,
      head: 3,
    })
    // Close enough, or not asked: the log as before.
    expect(await answerTo(device!, { cursor: 1, replayAtMost: 2 })).toMatchObject({
      type: 'change',
      change: { seq: 2 },
    })
    expect(await answerTo(device!, { cursor: 0 })).toMatchObject({
      type: 'change',
      change: { seq: 1 },
    })
    expect(await answerTo(device!, { cursor: 3, replayAtMost: 0 })).toEqual({
      type: 'ready',
      cursor: 3,
    })
  })
})
