import type { TSchema } from 'typebox'
import { describe, expect, it } from 'vitest'
import { generateCoordinatorKeys, issueCertificate } from '../certificates.ts'
import { CloudsyncError } from '../errors.ts'
import * as S from '../schemas/index.ts'
import { type Parser, parser } from '../validate.ts'

const hex = (c: string) => c.repeat(64)
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const when = '2025-06-01T12:00:00.000Z'
const chunk = { index: 0, id: hex('a'), offset: 0, size: 10, cipherSize: 26, seal: hex('b') }
const keys = generateCoordinatorKeys()
const peerId = '12D3KooWGzh8ZpvCQh2uJ5D7G1qGnFQnRy1Jz4Fh8qW6cVbJnUmY'
const certificate = issueCertificate(
  { deviceId: uuid(1), accountId: uuid(2), peerId, issuedAt: 1_700_000_000_000 },
  keys.privateKey,
)
const device = {
  deviceId: uuid(1),
  name: 'Anna’s laptop',
  peerId,
  addresses: [`/ip4/192.168.1.5/tcp/4001/p2p/${peerId}`],
  online: true,
  lastSeenAt: when,
}
const summary = {
  fileId: uuid(3),
  path: 'docs/a.txt',
  version: 2,
  size: 10,
  hash: hex('c'),
  deviceId: uuid(1),
  updatedAt: when,
  deleted: false,
}
const session = {
  sessionId: uuid(4),
  missing: [0],
  uploads: [
    {
      index: 0,
      url: 'https://s3.example/b/c?sig=1',
      method: 'PUT',
      headers: { 'x-amz-checksum-sha256': 'q83v' },
    },
  ],
  expiresAt: when,
}
const change = {
  seq: 7,
  kind: 'modified',
  fileId: uuid(3),
  path: 'docs/a.txt',
  version: 2,
  size: 10,
  hash: hex('c'),
  chunks: [chunk],
  deviceId: uuid(1),
  committedAt: when,
}

/** A valid example of every HTTP schema (WebSocket ones are in ws.test.ts). */
const examples: [string, TSchema, Record<string, unknown>][] = [
  [
    'ErrorBody',
    S.ErrorBody,
    { error: { code: 'NOT_FOUND', message: 'No such file', details: { fileId: uuid(3) } } },
  ],
  [
    'LinkDeviceRequest',
    S.LinkDeviceRequest,
    {
      token: 'tok_0123456789abcdef',
      name: 'laptop',
      peerId,
      publicKey: keys.publicKey,
      proof: Buffer.alloc(64, 1).toString('base64'),
    },
  ],
  [
    'LinkDeviceResponse',
    S.LinkDeviceResponse,
    {
      deviceId: uuid(1),
      accountId: uuid(2),
      credential: 'cred_0123456789abcdef',
      certificate,
      coordinatorKey: keys.publicKey,
      domain: { kind: 'account' },
    },
  ],
  [
    'DeviceList',
    S.DeviceList,
    {
      devices: [
        device,
        { ...device, deviceId: uuid(9), online: false, lastSeenAt: null, addresses: [] },
      ],
    },
  ],
  ['DeviceParams', S.DeviceParams, { deviceId: uuid(1) }],
  ['InviteResponse', S.InviteResponse, { token: 'tok_0123456789abcdef', expiresAt: when }],
  ['UpdateAddressesRequest', S.UpdateAddressesRequest, { addresses: ['/ip6/::1/tcp/4001'] }],
  [
    'UploadInitRequest',
    S.UploadInitRequest,
    { path: 'docs/a.txt', size: 10, hash: hex('c'), chunks: [chunk], baseVersion: null },
  ],
  [
    'UploadInitResponse',
    S.UploadInitResponse,
    { ...session, challenges: [{ index: 0, nonce: hex('d').slice(0, 32), offset: 0, length: 16 }] },
  ],
  ['UploadStatusResponse', S.UploadStatusResponse, { ...session, state: 'open' }],
  ['SessionParams', S.SessionParams, { sessionId: uuid(4) }],
  [
    'UploadCompleteRequest',
    S.UploadCompleteRequest,
    { proofs: [{ index: 0, response: hex('e') }] },
  ],
  [
    'UploadCompleteResponse',
    S.UploadCompleteResponse,
    {
      fileId: uuid(3),
      version: 3,
      path: 'docs/a.txt',
      state: 'committed',
      conflict: {
        fileId: uuid(5),
        path: 'docs/a (conflicted copy from pc 2025-06-01 120000).txt',
        version: 1,
      },
    },
  ],
  ['FileMetadata', S.FileMetadata, { ...summary, chunks: [chunk] }],
  ['FileSummary', S.FileSummary, summary],
  ['FileParams', S.FileParams, { fileId: uuid(3) }],
  ['DownloadQuery', S.DownloadQuery, { version: 2 }],
  [
    'DownloadResponse',
    S.DownloadResponse,
    {
      fileId: uuid(3),
      version: 2,
      chunks: [{ index: 0, id: hex('a'), url: 'http://127.0.0.1:8080/data/a?sig=1' }],
      expiresAt: when,
    },
  ],
  ['ByPathQuery', S.ByPathQuery, { path: 'docs/a.txt' }],
  ['ListFilesQuery', S.ListFilesQuery, { prefix: 'docs/', cursor: 'ZG9jcy9h', limit: 50 }],
  ['ListFilesResponse', S.ListFilesResponse, { files: [summary], next: 'ZG9jcy9h' }],
  ['DeleteFileRequest', S.DeleteFileRequest, { baseVersion: 2 }],
  ['MoveFileRequest', S.MoveFileRequest, { to: 'docs/b.txt', baseVersion: 2 }],
  [
    'Change',
    S.Change,
    {
      ...change,
      kind: 'moved',
      fromPath: 'old/a.txt',
      conflictOf: { fileId: uuid(5), path: 'docs/x.txt' },
    },
  ],
  ['ChangesQuery', S.ChangesQuery, { cursor: 0, limit: 1000, wait: 60 }],
  ['ChangesResponse', S.ChangesResponse, { changes: [change], cursor: 7, hasMore: false }],
  ['NotifyRequest', S.NotifyRequest, { paths: ['docs/a.txt'], reason: 'watcher' }],
  ['NotifyResponse', S.NotifyResponse, { cursor: 7 }],
]

function rejection<T extends TSchema>(p: Parser<T>, value: unknown): CloudsyncError {
  try {
    p.parse(value)
  } catch (err) {
    if (err instanceof CloudsyncError) return err
    throw err
  }
  throw new Error(`accepted ${JSON.stringify(value)}`)
}

describe.each(examples)('%s', (name, schema, example) => {
  const p = parser(schema, name)

  it('accepts its example', () => {
    expect(p.parse(example)).toEqual(example)
  })

  it('is a closed object (additionalProperties: false) that Fastify can use', () => {
    expect((schema as { additionalProperties?: boolean }).additionalProperties).toBe(false)
    const err = rejection(p, { ...example, surprise: 1 })
    expect(err.code).toBe('INVALID_INPUT')
    expect(err.details).toEqual({ field: 'surprise' })
  })

  const required = (schema as { required?: string[] }).required ?? []
  it.skipIf(required.length === 0).each(required)('names the missing field %s', (field) => {
    const { [field]: _, ...rest } = example
    const err = rejection(p, rest)
    expect(err.details).toEqual({ field })
  })
})

describe('field checks', () => {
  const init = parser(S.UploadInitRequest, 'upload init')
  const base = examples.find(([n]) => n === 'UploadInitRequest')![2]

  it.each([
    ['wrong type', { size: '10' }, 'size', /must be integer/],
    ['negative', { size: -1 }, 'size', /must be >= 0/],
    ['huge', { size: 2 ** 60 }, 'size', /must be <=/],
    ['fraction', { size: 1.5 }, 'size', /integer/],
    ['bad hash', { hash: 'C'.repeat(64) }, 'hash', /pattern/],
    ['bad chunk id', { chunks: [{ ...chunk, id: 'xyz' }] }, 'chunks[0].id', /characters|pattern/],
    ['negative chunk size', { chunks: [{ ...chunk, size: -5 }] }, 'chunks[0].size', />= 1/],
    ['bad path', { path: '../etc/passwd' }, 'path', /pattern/],
    ['absolute path', { path: '/etc/passwd' }, 'path', /pattern/],
    ['zero base version', { baseVersion: 0 }, 'baseVersion', /.+/],
    ['huge base version', { baseVersion: 2 ** 53 }, 'baseVersion', /.+/],
  ])('rejects %s, naming the field', (_, change, field, reason) => {
    const err = rejection(init, { ...base, ...change })
    expect(err.code).toBe('INVALID_INPUT')
    expect(err.details).toEqual({ field })
    expect(err.message).toContain(field)
    expect(err.message).toMatch(reason)
  })

  it('bounds the change-log query', () => {
    const q = parser(S.ChangesQuery, 'query')
    expect(rejection(q, { cursor: -1 }).details).toEqual({ field: 'cursor' })
    expect(rejection(q, { cursor: 0, limit: 0 }).details).toEqual({ field: 'limit' })
    expect(rejection(q, { cursor: 0, limit: 1001 }).details).toEqual({ field: 'limit' })
    expect(rejection(q, { cursor: 0, wait: 61 }).details).toEqual({ field: 'wait' })
    expect(q.parse({ cursor: 5 })).toEqual({ cursor: 5 })
    expect((S.ChangesQuery.properties.limit as { default?: number }).default).toBe(
      S.CHANGES_LIMIT_DEFAULT,
    )
  })

  it('checks ids, URLs, keys and the notify batch size', () => {
    expect(rejection(parser(S.FileParams), { fileId: 'not-a-uuid' }).details).toEqual({
      field: 'fileId',
    })
    expect(
      rejection(parser(S.FileParams), { fileId: '0B6F3C2E-8A1D-4C5E-9F70-1A2B3C4D5E6F' }).code,
    ).toBe('INVALID_INPUT')
    const dl = examples.find(([n]) => n === 'DownloadResponse')![2]
    const ftp = { ...dl, chunks: [{ index: 0, id: hex('a'), url: 'file:///etc/passwd' }] }
    expect(rejection(parser(S.DownloadResponse), ftp).details).toEqual({ field: 'chunks[0].url' })
    const link = examples.find(([n]) => n === 'LinkDeviceRequest')![2]
    expect(rejection(parser(S.LinkDeviceRequest), { ...link, publicKey: 'AAAA' }).details).toEqual({
      field: 'publicKey',
    })
    const notify = parser(S.NotifyRequest)
    expect(rejection(notify, { paths: [] }).details).toEqual({ field: 'paths' })
    expect(rejection(notify, { paths: Array(101).fill('a') }).details).toEqual({ field: 'paths' })
    expect(rejection(notify, { paths: ['ok', 'a//b'] }).details).toEqual({ field: 'paths[1]' })
  })

  it('checks the domain union and error codes', () => {
    const res = examples.find(([n]) => n === 'LinkDeviceResponse')![2]
    const link = parser(S.LinkDeviceResponse)
    const secret = Buffer.alloc(32, 7).toString('base64')
    expect(link.check({ ...res, domain: { kind: 'global', secret } })).toBe(true)
    expect(link.check({ ...res, domain: { kind: 'global' } })).toBe(false)
    expect(link.check({ ...res, domain: { kind: 'account', secret } })).toBe(false)
    const body = parser(S.ErrorBody)
    expect(body.check(new CloudsyncError('STALE_BASE').toJSON())).toBe(true)
    expect(rejection(body, { error: { code: 'NOPE', message: 'x' } }).details).toEqual({
      field: 'error.code',
    })
  })
})

describe('parseJson', () => {
  const p = parser(S.NotifyResponse, 'notify answer')

  it('parses text and bytes', () => {
    expect(S.parseJson('{"cursor":3}', p)).toEqual({ cursor: 3 })
    expect(S.parseJson(new TextEncoder().encode('{"cursor":4}'), p)).toEqual({ cursor: 4 })
  })

  it('rejects malformed JSON, bad UTF-8 and bad shapes with INVALID_INPUT', () => {
    expect(() => S.parseJson('{"cursor":', p, 'notify answer')).toThrow(
      /Invalid notify answer: not JSON/,
    )
    expect(() => S.parseJson(Uint8Array.of(0x7b, 0xff, 0x7d), p)).toThrow(/not UTF-8/)
    expect(() => S.parseJson('{"cursor":-1}', p)).toThrow(/cursor must be >= 0/)
  })
})
