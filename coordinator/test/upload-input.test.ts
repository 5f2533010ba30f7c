/** Every refusal of the upload routes: a 4xx naming the problem, and nothing written. */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { testConfig } from '../config.ts'
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
  t = await startApp({ config: { limits: { ...testConfig().limits, ...testLimits } } })
  ;[device] = (await newAccount(t.app)) as [TestDevice]
})
afterAll(() => t.close())
beforeEach(async () => {
  before = await snapshot(t.app.db)
})

const testLimits = { maxFileSize: 10_000, maxChunks: 8, maxPathBytes: 200, bodyLimit: 64 * 1024 }
const good = () => ({ path: 'docs/a.txt', ...makeFile().manifest, baseVersion: null })
const init = (payload: unknown) =>
  device.call({ method: 'POST', url: '/files/upload/init', payload: payload as object })

async function expectRefused(
  res: { statusCode: number; json(): { error: { code: string; message: string } } },
  status: number,
  code: string,
  mentions: RegExp,
) {
  expect(res.statusCode).toBe(status)
  expect(res.json().error.code).toBe(code)
  expect(res.json().error.message).toMatch(mentions)
  expect(await snapshot(t.app.db)).toEqual(before)
}

describe('POST /files/upload/init refuses', () => {
  it('malformed JSON', async () => {
    const res = await device.call({
      method: 'POST',
      url: '/files/upload/init',
      headers: { 'content-type': 'application/json' },
      payload: '{"path": "a", ',
    })
    await expectRefused(res, 400, 'INVALID_INPUT', /not valid JSON/)
  })

  it.each([
    ['a missing field', { hash: undefined }, /body\.hash.*required/],
    ['an extra field', { owner: 'me' }, /body\.owner.*not allowed/],
    ['a string size', { size: '350' }, /body\.size/],
    ['a negative size', { size: -1 }, /body\.size/],
    ['a huge size', { size: 2 ** 60 }, /body\.size/],
    ['a fractional baseVersion', { baseVersion: 1.5 }, /baseVersion/],
    ['a zero baseVersion', { baseVersion: 0 }, /baseVersion/],
    ['an uppercase hash', { hash: 'A'.repeat(64) }, /body\.hash/],
  ])('%s', async (_, change, mentions) => {
    await expectRefused(await init({ ...good(), ...change }), 400, 'INVALID_INPUT', mentions)
  })

  it.each([
    ['..', 'docs/../../etc/passwd', /"\.\." segment/],
    ['an absolute path', '/etc/passwd', /absolute/],
    ['a NUL', 'a\u0000b', /NUL or control/],
    ['a backslash', 'a\\b.txt', /backslash/],
    ['a drive letter', 'C:/x', /drive letter/],
    ['a trailing slash', 'docs/', /ends with a slash/],
  ])('a path with %s', async (_, path, mentions) => {
    await expectRefused(await init({ ...good(), path }), 400, 'INVALID_PATH', mentions)
  })

  it('a path over the configured length', async () => {
    await expectRefused(
      await init({ ...good(), path: 'a'.repeat(201) }),
      400,
      'INVALID_PATH',
      /201 bytes.*allows 200/,
    )
  })

  it('chunks that do not add up to the size', async () => {
    await expectRefused(
      await init({ ...good(), size: 351 }),
      400,
      'INVALID_MANIFEST',
      /add up to 350.*351/,
    )
  })

  it('a gap between chunks', async () => {
    const body = good()
    body.chunks[1]!.offset += 1
    await expectRefused(await init(body), 400, 'INVALID_MANIFEST', /chunks\[1\]\.offset.*gap/)
  })

  it('chunks out of order', async () => {
    const body = good()
    ;[body.chunks[0], body.chunks[1]] = [body.chunks[1]!, body.chunks[0]!]
    await expectRefused(await init(body), 400, 'INVALID_MANIFEST', /chunks\[0\]\.index/)
  })

  it('a cipherSize that is not size + 16', async () => {
    const body = good()
    body.chunks[2]!.cipherSize += 1
    await expectRefused(await init(body), 400, 'INVALID_MANIFEST', /chunks\[2\]\.cipherSize/)
  })

  it('a file over the size limit (413)', async () => {
    const body = { ...makeFile([5000, 5001]).manifest, path: 'big', baseVersion: null }
    await expectRefused(await init(body), 413, 'TOO_LARGE', /10001 exceeds the limit of 10000/)
  })

  it('more chunks than allowed (413)', async () => {
    const body = { ...makeFile(Array(9).fill(10)).manifest, path: 'many', baseVersion: null }
    await expectRefused(await init(body), 413, 'TOO_LARGE', /9 chunks exceed the limit of 8/)
  })

  it('a body over the body limit (413)', async () => {
    const body = { ...good(), path: 'x'.repeat(70_000) }
    await expectRefused(await init(body), 413, 'TOO_LARGE', /too large/)
  })
})

describe('session routes refuse', () => {
  const unknownId = '00000000-0000-4000-8000-000000000000'

  it.each([
    ['GET', `/files/upload/${unknownId}`],
    ['POST', `/files/upload/${unknownId}/complete`],
  ])('%s %s of an unknown session (404)', async (method, url) => {
    const res = await device.call({
      method: method as 'GET',
      url,
      payload: method === 'POST' ? {} : undefined,
    })
    await expectRefused(res, 404, 'NOT_FOUND', /No upload session/)
  })

  it.each([
    ['GET', '/files/upload/not-a-uuid'],
    ['POST', '/files/upload/../complete'],
  ])('%s %s with a malformed id (400 or 404)', async (method, url) => {
    const res = await device.call({
      method: method as 'GET',
      url,
      payload: method === 'POST' ? {} : undefined,
    })
    expect([400, 404]).toContain(res.statusCode)
    expect(res.json().error.message).toBeTruthy()
    expect(await snapshot(t.app.db)).toEqual(before)
  })

  it('complete with an unknown field', async () => {
    const res = await device.call({
      method: 'POST',
      url: `/files/upload/${unknownId}/complete`,
      payload: { force: true },
    })
    await expectRefused(res, 400, 'INVALID_INPUT', /body\.force.*not allowed/)
  })
})
