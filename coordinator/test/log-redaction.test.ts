/**
 * The request log never holds a blob URL's signature or a credential (issue 15, section 4):
 * a chunk is PUT and downloaded through signed URLs with the log at info, and every line
 * the coordinator wrote is searched for the secrets it handled.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { redactUrl } from '../plugins/log-redaction.ts'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, startApp, type TestApp, type TestDevice } from './harness.ts'

const lines: string[] = []
let t: TestApp
let device: TestDevice
beforeAll(async () => {
  t = await startApp({
    listen: true,
    config: { logLevel: 'info' },
    deps: { logStream: { write: (line) => lines.push(line) } },
  })
  ;[device] = (await newAccount(t.app)) as [TestDevice]
})
afterAll(() => t.close())

it('redacts signatures and credentials in URLs, and keeps the rest', () => {
  expect(redactUrl('/blobs/ab?exp=1&size=3&sig=c2VjcmV0')).toBe(
    '/blobs/ab?exp=1&size=3&sig=REDACTED',
  )
  expect(redactUrl('/x?X-Amz-Signature=abc&X-Amz-Credential=k&a=1')).toBe(
    '/x?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&a=1',
  )
  expect(redactUrl('/sync/changes?cursor=3')).toBe('/sync/changes?cursor=3')
})

it('a signed PUT and GET leave no signature and no credential in the log', async () => {
  const file = makeFile()
  const { result } = await upload(device, 'secret-log.txt', file, null)
  const download = await device.call({ method: 'GET', url: `/files/${result.fileId}/download` })
  const urls: string[] = download.json().chunks.map((c: { url: string }) => c.url)
  for (const url of urls) expect((await fetch(url)).status).toBe(200)

  const log = lines.join('')
  expect(log).toContain('sig=REDACTED')
  const signatures = urls.map((u) => new URL(u).searchParams.get('sig')!)
  expect(signatures.length).toBeGreaterThan(0)
  for (const sig of signatures) expect(log).not.toContain(sig)
  expect(log).not.toContain(device.credential)
})
