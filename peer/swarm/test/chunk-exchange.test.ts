import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MiB } from '../../../protocol/constants.ts'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import { type Device, newAccount, randomChunk, startDevice, stopAll, swarmOf } from './helpers.ts'

describe('two devices of one account', () => {
  const account = newAccount()
  let alice: Device
  let bob: Device
  const chunks = Array.from({ length: 8 }, (_, i) => randomChunk(MiB + i * 1000))

  beforeAll(async () => {
    ;[alice, bob] = await Promise.all([startDevice(account), startDevice(account)])
    for (const c of chunks) alice.chunks.set(c.id, c.bytes)
  })
  afterAll(() => stopAll([alice, bob]))

  it('exchanges several MiB of chunks, every byte as served', async () => {
    const swarm = swarmOf(bob, [alice])
    const got = new Map<string, Uint8Array>()
    for await (const r of swarm.getMany(chunks.map((c) => c.id))) {
      expect(r.error).toBeUndefined()
      got.set(r.id, r.bytes!)
    }
    expect(got.size).toBe(chunks.length)
    for (const c of chunks) expect(Buffer.from(got.get(c.id)!).equals(c.bytes)).toBe(true)
    const [counters] = swarm.counters()
    expect(counters?.peerId).toBe(alice.peerId)
    expect(counters?.bytesReceived).toBe(chunks.reduce((n, c) => n + c.bytes.length, 0))
    expect(alice.node.services.chunks.counters.chunksServed).toBeGreaterThanOrEqual(8)
  })

  it('get() returns one verified chunk', async () => {
    const bytes = await swarmOf(bob, [alice]).get(chunks[3]!.id)
    expect(Buffer.from(bytes).equals(chunks[3]!.bytes)).toBe(true)
  })

  it('an id no peer has is NOT_FOUND', async () => {
    const missing = randomChunk(100).id
    const error = await swarmOf(bob, [alice])
      .get(missing)
      .catch((e) => e)
    expect(isCloudsyncError(error, 'NOT_FOUND')).toBe(true)
  })

  it('with no peers at all, every id is NOT_FOUND', async () => {
    const results = []
    for await (const r of swarmOf(bob, []).getMany([chunks[0]!.id, chunks[1]!.id])) results.push(r)
    expect(results.map((r) => r.error?.code)).toEqual(['NOT_FOUND', 'NOT_FOUND'])
  })

  it('a caller abort rejects get() promptly', async () => {
    const controller = new AbortController()
    controller.abort(new Error('user cancelled'))
    const error = await swarmOf(bob, [alice])
      .get(chunks[0]!.id, { signal: controller.signal })
      .catch((e) => e)
    expect((error as Error).message).toBe('user cancelled')
  })
})

describe('a responder that serves wrong bytes', () => {
  const account = newAccount()
  let liar: Device
  let bob: Device
  const chunk = randomChunk(200_000)

  beforeAll(async () => {
    ;[liar, bob] = await Promise.all([
      startDevice(account, {
        provider: (map) => ({
          async read(id) {
            const bytes = map.get(id)
            if (!bytes) return undefined
            const tampered = Uint8Array.from(bytes)
            tampered[1000] = tampered[1000]! ^ 0xff
            return tampered
          },
        }),
      }),
      startDevice(account),
    ])
    liar.chunks.set(chunk.id, chunk.bytes)
  })
  afterAll(() => stopAll([liar, bob]))

  it('gives the requester CHUNK_CORRUPT, never the bytes', async () => {
    const swarm = swarmOf(bob, [liar])
    const results = []
    for await (const r of swarm.getMany([chunk.id])) results.push(r)
    expect(results).toHaveLength(1)
    expect(results[0]?.bytes).toBeUndefined()
    expect(results[0]?.error?.code).toBe('CHUNK_CORRUPT')
    expect(swarm.counters()[0]?.failures.CHUNK_CORRUPT).toBe(1)
  })
})
