/**
 * Input the coordinator used to reinterpret (issue 15, section 4): numbers in query strings
 * written other than in decimal digits, and JSON bodies whose bytes are not valid UTF-8
 * (a path stored lossily as `a\uFFFD\uFFFDb.txt`). Each is refused and nothing is written.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  makeFile,
  newAccount,
  snapshot,
  startApp,
  type TestApp,
  type TestDevice,
} from './harness.ts'

let t: TestApp
let device: TestDevice
let before: Record<string, unknown>
beforeAll(async () => {
  t = await startApp()
  ;[device] = (await newAccount(t.app)) as [TestDevice]
})
afterAll(() => t.close())
beforeEach(async () => {
  before = await snapshot(t.app.db)
})

describe('query strings take decimal integers only', () => {
  it.each(['0x1', '1.5', '1e3', ' 7', '+1', '07', 'Infinity'])(
    'cursor=%s is refused',
    async (cursor) => {
      const res = await device.call({
        method: 'GET',
        url: `/sync/changes?cursor=${encodeURIComponent(cursor)}`,
      })
      expect(res.statusCode).toBe(400)
      expect(res.json().error.code).toBe('INVALID_INPUT')
      expect(res.json().error.message).toMatch(/querystring\.cursor.*decimal/)
    },
  )

  it('cursor=0 and cursor=12 are read', async () => {
    for (const cursor of ['0', '12']) {
      const res = await device.call({ method: 'GET', url: `/sync/changes?cursor=${cursor}` })
      expect(res.statusCode).toBe(200)
      expect(res.json().cursor).toBe(Number(cursor))
    }
  })
})

describe('JSON bodies must be valid UTF-8', () => {
  it('an upload whose path holds invalid bytes is refused, and nothing is written', async () => {
    const body = JSON.stringify({ path: 'a__b.txt', ...makeFile().manifest, baseVersion: null })
    const bytes = Buffer.from(body, 'utf8')
    const at = bytes.indexOf('__')
    bytes[at] = 0xff
    bytes[at + 1] = 0xfe
    const res = await device.call({
      method: 'POST',
      url: '/files/upload/init',
      headers: { 'content-type': 'application/json' },
      payload: bytes,
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('INVALID_INPUT')
    expect(res.json().error.message).toMatch(/not valid UTF-8/)
    expect(await snapshot(t.app.db)).toEqual(before)
  })

  it('the same upload with a valid name is taken', async () => {
    const body = { path: 'a\u00e9b.txt', ...makeFile().manifest, baseVersion: null }
    const res = await device.call({ method: 'POST', url: '/files/upload/init', payload: body })
    expect(res.statusCode).toBe(201)
  })
})
