import { describe, expect, it } from 'vitest'
import { CloudsyncError } from '../errors.ts'
import {
  type ClientMessage,
  encodeMessage,
  parseClientMessage,
  parseServerMessage,
  type ServerMessage,
} from '../schemas/ws.ts'

const hex = (c: string) => c.repeat(64)
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const when = '2025-06-01T12:00:00.000Z'
const chunk = { index: 0, id: hex('a'), offset: 0, size: 10, cipherSize: 26, seal: hex('b') }
const peerId = '12D3KooWGzh8ZpvCQh2uJ5D7G1qGnFQnRy1Jz4Fh8qW6cVbJnUmY'

const serverMessages: ServerMessage[] = [
  { type: 'ready', cursor: 0 },
  {
    type: 'change',
    change: {
      seq: 8,
      kind: 'deleted',
      fileId: uuid(3),
      path: 'a.txt',
      version: 4,
      size: 10,
      hash: hex('c'),
      deviceId: uuid(1),
      committedAt: when,
    },
  },
  {
    type: 'pending',
    sessionId: uuid(4),
    path: 'v/big.mkv',
    deviceId: uuid(1),
    manifest: { size: 10, hash: hex('c'), chunks: [chunk] },
    expiresAt: when,
  },
  { type: 'pending-expired', sessionId: uuid(4) },
  {
    type: 'devices',
    devices: [
      { deviceId: uuid(1), name: 'nas', peerId, addresses: [], online: false, lastSeenAt: null },
    ],
  },
  { type: 'error', error: { code: 'UNAUTHENTICATED', message: 'Missing or unknown credential' } },
]

function rejection(fn: () => unknown): CloudsyncError {
  try {
    fn()
  } catch (err) {
    if (err instanceof CloudsyncError) return err
    throw err
  }
  throw new Error('expected a CloudsyncError')
}

describe('server -> client frames', () => {
  it.each(serverMessages.map((m) => [m.type, m] as const))('round-trips %s', (_, message) => {
    const text = encodeMessage(message)
    expect(parseServerMessage(text)).toEqual(message)
    expect(parseServerMessage(new TextEncoder().encode(text))).toEqual(message)
  })

  it('rejects malformed JSON with INVALID_INPUT', () => {
    const err = rejection(() => parseServerMessage('{"type":"ready",'))
    expect(err.code).toBe('INVALID_INPUT')
    expect(err.message).toMatch(/not JSON/)
  })

  it.each([
    ['an array', '[]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['no type', '{"cursor":1}', /type is missing/],
    ['numeric type', '{"type":1}', /type is missing/],
    ['unknown type', '{"type":"explode"}', /Unknown server message type "explode"/],
    ['a client type', '{"type":"hello","cursor":1}', /Unknown server message type "hello"/],
    ['inherited name', '{"type":"constructor"}', /Unknown server message type/],
  ])('rejects %s', (_, text, message) => {
    const err = rejection(() => parseServerMessage(text))
    expect(err.code).toBe('INVALID_INPUT')
    expect(err.message).toMatch(message)
  })

  it('names the offending field of a known type', () => {
    const bad = { ...serverMessages[2], manifest: { size: 10, hash: 'nothex', chunks: [] } }
    const err = rejection(() => parseServerMessage(JSON.stringify(bad)))
    expect(err.details).toEqual({ field: 'manifest.hash' })
    expect(err.message).toMatch(/^Invalid pending message: manifest.hash/)
    const extra = rejection(() => parseServerMessage('{"type":"ready","cursor":1,"x":2}'))
    expect(extra.details).toEqual({ field: 'x' })
    const negative = rejection(() => parseServerMessage('{"type":"ready","cursor":-1}'))
    expect(negative.details).toEqual({ field: 'cursor' })
  })

  it('rejects a change without its seq', () => {
    const { seq: _, ...change } = (serverMessages[1] as { change: Record<string, unknown> }).change
    const err = rejection(() => parseServerMessage(JSON.stringify({ type: 'change', change })))
    expect(err.details).toEqual({ field: 'change.seq' })
  })
})

describe('client -> server frames', () => {
  it('parses hello', () => {
    const hello: ClientMessage = { type: 'hello', cursor: 42 }
    expect(parseClientMessage(encodeMessage(hello))).toEqual(hello)
  })

  it.each([
    ['malformed JSON', '{type: hello}', /not JSON/],
    ['bad UTF-8', Uint8Array.of(0xc3, 0x28), /not UTF-8/],
    ['server type', '{"type":"ready","cursor":1}', /Unknown client message type "ready"/],
    ['missing cursor', '{"type":"hello"}', /hello message: cursor/],
    ['huge cursor', '{"type":"hello","cursor":1e300}', /hello message: cursor/],
    ['string cursor', '{"type":"hello","cursor":"5"}', /hello message: cursor/],
  ])('rejects %s', (_, raw, message) => {
    const err = rejection(() => parseClientMessage(raw))
    expect(err.code).toBe('INVALID_INPUT')
    expect(err.message).toMatch(message)
  })
})
