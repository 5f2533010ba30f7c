import { setTimeout as sleep } from 'node:timers/promises'
import type { Stream } from '@libp2p/interface'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KiB } from '../../../protocol/constants.ts'
import type { ChunkResult } from '../../chunk-sources/chunk-source.ts'
import { requestChunks } from '../chunk-client.ts'
import { chunkStreamOpener } from '../node.ts'
import { PeerSlots } from '../peer-slots.ts'
import { PeerStats } from '../peer-stats.ts'
import { SwarmDownload } from '../swarm-download.ts'
import type { SwarmDownloadSettings } from '../swarm-peer.ts'
import { type Device, newAccount, randomChunk, startDevice, stopAll } from './helpers.ts'

/**
 * The two ways a receiver used to wait for good on a peer that had gone (issue 14, item 5):
 * an id lost when the stream broke inside its body, and a freed request slot nobody noticed.
 */

const account = newAccount()
const chunks = [randomChunk(256 * KiB), randomChunk(256 * KiB + 7)]
const ids = chunks.map((c) => c.id)

/** The same stream, its reading changed by `wrapRead` (everything else goes to the real one). */
function rewired(
  stream: Stream,
  wrapRead: (source: AsyncIterable<unknown>) => AsyncIterable<unknown>,
): Stream {
  return new Proxy(stream, {
    get(target, key) {
      if (key === Symbol.asyncIterator) {
        const source = { [Symbol.asyncIterator]: () => target[Symbol.asyncIterator]() }
        return () => wrapRead(source)[Symbol.asyncIterator]()
      }
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * Delivers exactly `limit` bytes, then the connection dies (as when the sender is killed).
 * A piece that crosses the limit is cut: one piece may hold a whole chunk and more.
 */
const cutAfter = (stream: Stream, limit: number) =>
  rewired(stream, async function* (source) {
    let seen = 0
    for await (const piece of source) {
      const size = pieceSize(piece)
      if (seen + size < limit) {
        seen += size
        yield piece
        continue
      }
      yield bytesOf(piece).subarray(0, limit - seen)
      throw new Error('connection reset by the test')
    }
  })

function bytesOf(piece: unknown): Uint8Array {
  if (piece instanceof Uint8Array) return piece
  return Buffer.concat([...(piece as Iterable<Uint8Array>)])
}

/** Delivers everything, but reports the stream's end only `ms` later. */
const lateEnd = (stream: Stream, ms: number) =>
  rewired(stream, async function* (source) {
    yield* source
    await sleep(ms)
  })

function pieceSize(piece: unknown): number {
  if (piece instanceof Uint8Array) return piece.length
  let n = 0
  for (const part of piece as Iterable<Uint8Array>) n += part.length
  return n
}

describe('a receiver never waits on a peer that is gone', () => {
  let receiver: Device
  let sender: Device
  beforeAll(async () => {
    ;[receiver, sender] = await Promise.all([startDevice(account), startDevice(account)])
    for (const c of chunks) sender.chunks.set(c.id, c.bytes)
  })
  afterAll(() => stopAll([receiver, sender]))

  it('a stream cut inside a body still answers every id of the request', async () => {
    const open = chunkStreamOpener(receiver.node)
    const peer = { peerId: sender.peerId, multiaddrs: sender.addresses }
    const stream = cutAfter(await open(peer, AbortSignal.timeout(5_000)), 64 * KiB)
    const results: ChunkResult[] = []
    for await (const r of requestChunks(stream, receiver.identity, sender.peerId, ids)) {
      results.push(r)
    }
    expect(results.map((r) => r.id)).toEqual(ids)
    for (const r of results) expect(r.error?.code).toBe('BUSY')
  })

  it('a slot freed while the caller holds a result is noticed', async () => {
    const missing = randomChunk(1 * KiB).id
    const [held] = chunks
    const open = chunkStreamOpener(receiver.node)
    const settings: SwarmDownloadSettings = {
      identity: receiver.identity,
      // The request's end comes late, so its slot is freed while the caller holds a result.
      openStream: async (peer, signal) => lateEnd(await open(peer, signal), 300),
      requestsPerPeer: 2,
      chunksPerRequest: 1,
      requestTimeoutMs: 20_000,
      idleTimeoutMs: 5_000,
      downPeerBackoffMs: 5_000,
    }
    const slots = new PeerSlots()
    // Another download's request holds one of the peer's two slots.
    slots.take(sender.peerId)
    const peers = [{ peerId: sender.peerId, multiaddrs: sender.addresses }]
    const download = new SwarmDownload(
      settings,
      { stats: new PeerStats(), slots, peers: () => peers },
      [missing, held!.id],
    )
    const results: ChunkResult[] = []
    const stop = AbortSignal.timeout(10_000)
    const run = (async () => {
      for await (const r of download.run(stop)) {
        results.push(r)
        if (r.id !== missing) continue
        // Both slots come free while this result is held: ours, then the other download's.
        while (slots.used(sender.peerId) > 1) await sleep(10)
        slots.release(sender.peerId)
      }
    })()
    await expect(run).resolves.toBeUndefined()
    expect(results.map((r) => [r.id, r.error?.code])).toEqual([
      [missing, 'NOT_FOUND'],
      [held!.id, undefined],
    ])
  })
})
