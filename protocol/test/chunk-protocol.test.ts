import { describe, expect, it } from 'vitest'
import { generateCoordinatorKeys, issueCertificate } from '../certificates.ts'
import { MAX_CHUNKS_PER_REQUEST } from '../constants.ts'
import { CloudsyncError } from '../errors.ts'
import {
  decodeAll,
  decodeVarint,
  encodeChunk,
  encodeFailure,
  encodeHeader,
  encodeHello,
  encodeRequest,
  encodeVarint,
  FRAME_KIND,
  type Frame,
  FrameDecoder,
  type Hello,
  MAX_BODY_PAYLOAD,
  MAX_CONTROL_PAYLOAD,
  MAX_FRAME_LENGTH,
  statusError,
  statusForError,
  verifyHello,
} from '../p2p/chunk-protocol.ts'

const keys = generateCoordinatorKeys()
const accountId = '7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5'
const peerId = '12D3KooWGzh8ZpvCQh2uJ5D7G1qGnFQnRy1Jz4Fh8qW6cVbJnUmY'
const now = 1_750_000_000_000
const hello: Hello = {
  version: 1,
  certificate: issueCertificate(
    { deviceId: '0b6f3c2e-8a1d-4c5e-9f70-1a2b3c4d5e6f', accountId, peerId, issuedAt: now },
    keys.privateKey,
  ),
}
const id = (c: string) => c.repeat(64)
const body = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))

/** What a responder writes for ids a (ok, 17 bytes), b (not-found), c (ok, 20 bytes). */
const answer = concat([
  encodeHello(hello),
  ...encodeChunk(id('a'), body(17, 1)),
  encodeFailure(id('b'), 'not-found'),
  ...encodeChunk(id('c'), body(20, 2)),
])
const expected: Frame[] = [
  { kind: 'hello', hello },
  { kind: 'header', header: { id: id('a'), status: 'ok', size: 17 } },
  { kind: 'body', id: id('a'), bytes: body(17, 1) },
  { kind: 'header', header: { id: id('b'), status: 'not-found' } },
  { kind: 'header', header: { id: id('c'), status: 'ok', size: 20 } },
  { kind: 'body', id: id('c'), bytes: body(20, 2) },
]
const ids = [id('a'), id('b'), id('c')]

function rejection(fn: () => unknown): CloudsyncError {
  try {
    fn()
  } catch (err) {
    if (err instanceof CloudsyncError) return err
    throw err
  }
  throw new Error('expected a CloudsyncError')
}

/** Feeds `bytes` cut at the given offsets and ends the stream. */
function feed(bytes: Uint8Array, cuts: number[], role: 'requester' | 'responder' = 'requester') {
  const decoder = new FrameDecoder(role)
  if (role === 'requester') decoder.expect(ids)
  const frames: Frame[] = []
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    frames.push(...decoder.push(bytes.subarray(at, cut)))
    at = cut
  }
  decoder.end()
  return frames
}

describe('varint length prefix', () => {
  it.each([0, 1, 127, 128, 300, 16_383, 16_384, MAX_FRAME_LENGTH, 2 ** 35 - 1])(
    'round-trips %d',
    (n) => {
      const bytes = encodeVarint(n)
      expect(decodeVarint(bytes)).toEqual({ value: n, length: bytes.length })
      expect(decodeVarint(bytes.subarray(0, bytes.length - 1))).toBeUndefined()
    },
  )

  it('rejects non-minimal and over-long encodings', () => {
    expect(() => decodeVarint(Uint8Array.of(0x81, 0x00))).toThrow(/minimally/)
    expect(() => decodeVarint(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01))).toThrow(
      /longer than 5/,
    )
    expect(() => encodeVarint(-1)).toThrow(RangeError)
    expect(() => encodeVarint(2 ** 35)).toThrow(RangeError)
  })
})

describe('framing round trip', () => {
  it('decodes a whole answer', () => {
    expect(decodeAll(answer, 'requester', ids)).toEqual(expected)
  })

  it('decodes a hello and a request on the responder side', () => {
    const stream = concat([encodeHello(hello), encodeRequest(ids)])
    expect(decodeAll(stream, 'responder')).toEqual([
      { kind: 'hello', hello },
      { kind: 'request', request: { ids } },
    ])
  })

  it('gives the same frames for a cut at every byte boundary', () => {
    for (let cut = 0; cut <= answer.length; cut++) {
      expect(feed(answer, [cut])).toEqual(expected)
    }
  })

  it('gives the same frames fed one byte at a time and in random splits', () => {
    expect(
      feed(
        answer,
        Array.from({ length: answer.length }, (_, i) => i),
      ),
    ).toEqual(expected)
    let seed = 7
    for (let round = 0; round < 50; round++) {
      const cuts: number[] = []
      for (let at = 0; at < answer.length; ) {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
        at += 1 + (seed % 40)
        if (at < answer.length) cuts.push(at)
      }
      expect(feed(answer, cuts)).toEqual(expected)
    }
  })
})

describe('limits', () => {
  const prefix = (length: number, kind: number) =>
    concat([encodeVarint(length), Uint8Array.of(kind)])

  it('refuses a control frame over the limit from its prefix alone', () => {
    const d = new FrameDecoder('requester')
    d.push(encodeHello(hello))
    const err = rejection(() => d.push(prefix(MAX_CONTROL_PAYLOAD + 2, FRAME_KIND.header)))
    expect(err.code).toBe('TOO_LARGE')
    expect(err.message).toMatch(/header frame/)
  })

  it('refuses any frame longer than a chunk body from its length prefix alone', () => {
    const err = rejection(() =>
      new FrameDecoder('requester').push(encodeVarint(MAX_FRAME_LENGTH + 1)),
    )
    expect(err.code).toBe('TOO_LARGE')
  })

  it('refuses to encode oversize headers, requests and bodies', () => {
    const tooMany = Array.from({ length: MAX_CHUNKS_PER_REQUEST + 1 }, () => id('a'))
    expect(rejection(() => encodeRequest(tooMany)).code).toBe('TOO_LARGE')
    expect(rejection(() => encodeRequest([])).message).toMatch(/ids/)
    expect(rejection(() => encodeRequest(['abc'])).message).toMatch(/ids\[0\]/)
    const big = { id: id('a'), status: 'ok' as const, size: MAX_BODY_PAYLOAD + 1 }
    expect(rejection(() => encodeHeader(big)).message).toMatch(/size/)
  })
})

describe('protocol errors', () => {
  const started = () => {
    const d = new FrameDecoder('requester')
    d.expect(ids)
    d.push(encodeHello(hello))
    return d
  }

  it.each([
    [
      'end inside a varint',
      () => {
        const d = started()
        d.push(Uint8Array.of(0x80))
        d.end()
      },
      /inside a frame/,
    ],
    [
      'end inside a payload',
      () => {
        const d = started()
        d.push(encodeHeader({ id: id('a'), status: 'ok', size: 17 }).subarray(0, 10))
        d.end()
      },
      /inside a frame/,
    ],
    [
      'end before a body',
      () => {
        const d = started()
        d.push(encodeHeader({ id: id('a'), status: 'ok', size: 17 }))
        d.end()
      },
      /before the body/,
    ],
    [
      'end with answers owed',
      () => {
        started().end()
      },
      /3 chunk\(s\) unanswered/,
    ],
    [
      'frames before hello',
      () => new FrameDecoder('responder').push(encodeRequest(ids)),
      /before hello/,
    ],
    ['second hello', () => started().push(encodeHello(hello)), /second hello/],
    [
      'request sent to a requester',
      () => started().push(encodeRequest(ids)),
      /does not accept request/,
    ],
    [
      'header sent to a responder',
      () => {
        const d = new FrameDecoder('responder')
        d.push(encodeHello(hello))
        d.push(encodeFailure(id('a'), 'busy'))
      },
      /does not accept header/,
    ],
    [
      'answer out of order',
      () => started().push(encodeFailure(id('c'), 'busy')),
      /where a+ was due/,
    ],
    [
      'unrequested answer',
      () => {
        const d = new FrameDecoder('requester')
        d.push(encodeHello(hello))
        d.push(encodeFailure(id('a'), 'busy'))
      },
      /not requested/,
    ],
    [
      'body without header',
      () => started().push(encodeChunk(id('a'), body(17, 0))[1]),
      /without an ok header/,
    ],
    [
      'body of the wrong size',
      () => {
        const d = started()
        d.push(encodeHeader({ id: id('a'), status: 'ok', size: 17 }))
        d.push(encodeChunk(id('a'), body(18, 0))[1])
      },
      /18 bytes, header said 17/,
    ],
    [
      'header where a body was due',
      () => {
        const d = started()
        d.push(encodeHeader({ id: id('a'), status: 'ok', size: 17 }))
        d.push(encodeFailure(id('b'), 'busy'))
      },
      /body of chunk a+ was due/,
    ],
    ['unknown kind', () => started().push(Uint8Array.of(2, 9, 0)), /unknown frame kind 9/],
    ['empty frame', () => started().push(Uint8Array.of(0)), /empty frame/],
    [
      'malformed JSON',
      () => started().push(concat([Uint8Array.of(3, FRAME_KIND.header), Buffer.from('{x')])),
      /not JSON/,
    ],
  ])('detects %s', (_, run, message) => {
    const err = rejection(run)
    expect(['INVALID_INPUT', 'TOO_LARGE']).toContain(err.code)
    expect(err.message).toMatch(message)
  })

  it('rejects a header whose size contradicts its status', () => {
    const frame = (value: object) => {
      const json = Buffer.from(JSON.stringify(value))
      return concat([encodeVarint(json.length + 1), Uint8Array.of(FRAME_KIND.header), json])
    }
    expect(rejection(() => started().push(frame({ id: id('a'), status: 'ok' }))).message).toMatch(
      /has no size/,
    )
    const sized = frame({ id: id('a'), status: 'busy', size: 20 })
    expect(rejection(() => started().push(sized)).message).toMatch(/busy header .* has a size/)
  })

  it('stays failed after its first error', () => {
    const d = started()
    expect(() => d.push(Uint8Array.of(0))).toThrow(/empty frame/)
    expect(() => d.push(encodeFailure(id('a'), 'busy'))).toThrow(/empty frame/)
    expect(() => d.end()).toThrow(/empty frame/)
  })
})

describe('statuses and hello', () => {
  it('maps statuses to error codes and back', () => {
    expect(statusError(id('a'), 'not-found').code).toBe('NOT_FOUND')
    expect(statusError(id('a'), 'forbidden').code).toBe('FORBIDDEN')
    expect(statusError(id('a'), 'busy').code).toBe('BUSY')
    expect(statusForError(new CloudsyncError('BUSY'))).toBe('busy')
    expect(statusForError(new CloudsyncError('BAD_SIGNATURE'))).toBe('forbidden')
    expect(statusForError(new Error('EIO'))).toBe('not-found')
  })

  it('accepts a hello from a device of the same account only', () => {
    const at = { now, remotePeerId: peerId, accountId }
    expect(verifyHello(hello, keys.publicKey, at).peerId).toBe(peerId)
    const stranger = rejection(() =>
      verifyHello(hello, keys.publicKey, {
        ...at,
        accountId: '00000000-0000-4000-8000-000000000000',
      }),
    )
    expect(stranger.code).toBe('FORBIDDEN')
    const impostor = rejection(() =>
      verifyHello(hello, keys.publicKey, { ...at, remotePeerId: `${peerId.slice(0, -1)}Z` }),
    )
    expect(impostor.code).toBe('FORBIDDEN')
  })
})
