import { setTimeout as sleep } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KiB } from '../../../protocol/constants.ts'
import {
  type Device,
  helloWith,
  newAccount,
  randomChunk,
  rawRequest,
  startDevice,
  stopAll,
  swarmOf,
} from '../../swarm/test/helpers.ts'
import type { ChunkResult } from '../chunk-source.ts'

const account = newAccount()
const file = Array.from({ length: 24 }, (_, i) => randomChunk(256 * KiB + i * 4099))
const ids = file.map((c) => c.id)
const bytesOf = new Map(file.map((c) => [c.id, c.bytes]))

async function collect(results: AsyncIterable<ChunkResult>): Promise<ChunkResult[]> {
  const out: ChunkResult[] = []
  for await (const r of results) out.push(r)
  return out
}

function expectAllCorrect(results: ChunkResult[]): void {
  expect(results.map((r) => r.error?.message)).toEqual(results.map(() => undefined))
  expect(new Set(results.map((r) => r.id))).toEqual(new Set(ids))
  for (const r of results) expect(Buffer.from(r.bytes!).equals(bytesOf.get(r.id)!)).toBe(true)
}

/** A provider that takes `ms` per read, so transfers last long enough to interfere with. */
const slowly = (ms: number) => (map: Map<string, Uint8Array>) => ({
  read: async (id: string) => {
    await sleep(ms)
    return map.get(id)
  },
})

describe('swarming over several peers', () => {
  const devices: Device[] = []
  afterAll(() => stopAll(devices))
  const start = async (...options: Parameters<typeof startDevice>[1][]) => {
    const started = await Promise.all(options.map((o) => startDevice(account, o)))
    devices.push(...started)
    return started
  }

  let downloader: Device
  beforeAll(async () => {
    downloader = (await start({}))[0]!
  })

  it('three peers holding one file: every chunk arrives, and more than one peer sent some', async () => {
    const peers = await start({}, {}, {})
    for (const p of peers) for (const c of file) p.chunks.set(c.id, c.bytes)
    const swarm = swarmOf(downloader, peers)
    expectAllCorrect(await collect(swarm.getMany(ids)))
    const counters = swarm.counters()
    const contributors = counters.filter((c) => c.chunksReceived > 0)
    expect(contributors.length).toBeGreaterThan(1)
    expect(counters.reduce((n, c) => n + c.chunksReceived, 0)).toBe(file.length)
    for (const c of contributors) expect(c.bytesPerSecond).toBeGreaterThan(0)
  })

  it('peers holding different halves: each chunk is found at the peer that has it', async () => {
    const [even, odd] = await start({}, {})
    for (const [i, c] of file.entries()) (i % 2 ? odd : even)!.chunks.set(c.id, c.bytes)
    const swarm = swarmOf(downloader, [even!, odd!])
    expectAllCorrect(await collect(swarm.getMany(ids)))
    const received = swarm.counters().map((c) => c.chunksReceived)
    expect(received).toEqual([12, 12])
  })

  it('a liar among honest peers: its chunks are refetched from the others, it is dropped', async () => {
    const [liar, honest] = await start(
      {
        provider: (map) => ({
          read: async (id) => {
            const bytes = map.get(id)
            return bytes && Uint8Array.from(bytes, (b, i) => (i === 7 ? b ^ 1 : b))
          },
        }),
      },
      {},
    )
    for (const p of [liar!, honest!]) for (const c of file) p.chunks.set(c.id, c.bytes)
    const swarm = swarmOf(downloader, [liar!, honest!])
    expectAllCorrect(await collect(swarm.getMany(ids)))
    const liarCounters = swarm.counters().find((c) => c.peerId === liar!.peerId)!
    expect(liarCounters.chunksReceived).toBe(0)
    expect(liarCounters.failures.CHUNK_CORRUPT).toBeGreaterThan(0)
  })

  it('a peer that stalls: its chunks time out and come from another peer', async () => {
    const [stalled, fine] = await start(
      { provider: () => ({ read: () => new Promise(() => {}) }) },
      {},
    )
    for (const c of file) fine!.chunks.set(c.id, c.bytes)
    // Connected first: the 300 ms silence limit is for the stalled chunk, not for a noise
    // handshake on a loaded machine.
    for (const p of [stalled!, fine!]) await downloader.node.dial(multiaddr(p.addresses[0]!))
    const swarm = swarmOf(downloader, [stalled!, fine!], { idleTimeoutMs: 300 })
    const started = Date.now()
    expectAllCorrect(await collect(swarm.getMany(ids)))
    expect(Date.now() - started).toBeLessThan(3_000)
    const stalledCounters = swarm.counters().find((c) => c.peerId === stalled!.peerId)!
    expect(stalledCounters.failures.BUSY).toBeGreaterThan(0)
  })

  it('a peer that stops mid-transfer: the rest fail promptly, no hang', async () => {
    const [leaving] = await start({ provider: slowly(40) })
    for (const c of file) leaving!.chunks.set(c.id, c.bytes)
    const swarm = swarmOf(downloader, [leaving!], { requestTimeoutMs: 20_000 })
    const results: ChunkResult[] = []
    let stoppedAt = 0
    for await (const r of swarm.getMany(ids)) {
      results.push(r)
      if (results.length === 3) {
        stoppedAt = Date.now()
        await leaving!.node.stop()
      }
    }
    expect(results).toHaveLength(file.length)
    expect(Date.now() - stoppedAt).toBeLessThan(3_000)
    const failed = results.filter((r) => r.error)
    expect(failed.length).toBeGreaterThan(0)
    // Chunks in flight when it left fail BUSY; chunks never asked for have no peer left.
    expect(failed.some((r) => r.error?.code === 'BUSY')).toBe(true)
    for (const r of failed) expect(['BUSY', 'NOT_FOUND']).toContain(r.error?.code)
    for (const r of results.filter((r) => r.bytes)) {
      expect(Buffer.from(r.bytes!).equals(bytesOf.get(r.id)!)).toBe(true)
    }
  })

  it('a server over its concurrency limit answers busy', async () => {
    const [server] = await start({ provider: slowly(300), service: { maxActiveRequests: 1 } })
    for (const c of file) server!.chunks.set(c.id, c.bytes)
    const hello = helloWith(downloader.identity.certificate)
    const first = rawRequest(downloader, server!, hello, [ids[0]!])
    await sleep(100)
    const second = await rawRequest(downloader, server!, hello, [ids[1]!])
    expect(second.frames.find((f) => f.kind === 'header')).toMatchObject({
      header: { status: 'busy' },
    })
    expect((await first).frames.some((f) => f.kind === 'body')).toBe(true)
  })

  it('many concurrent get() calls keep each peer at its request limit', async () => {
    let reading = 0
    let most = 0
    const [server] = await start({
      provider: (map) => ({
        read: async (id) => {
          most = Math.max(most, ++reading)
          await sleep(5)
          reading--
          return map.get(id)
        },
      }),
    })
    for (const c of file) server!.chunks.set(c.id, c.bytes)
    const swarm = swarmOf(downloader, [server!], { requestsPerPeer: 2, chunksPerRequest: 1 })
    const got = await Promise.all(ids.map((id) => swarm.get(id)))
    for (const [i, bytes] of got.entries())
      expect(Buffer.from(bytes).equals(file[i]!.bytes)).toBe(true)
    expect(most).toBeLessThanOrEqual(2)
    expect(swarm.counters()[0]?.requests).toBe(file.length)
  })

  it('an unreachable peer is skipped, and not dialled again while it is marked down', async () => {
    const [gone, fine] = await start({}, {})
    for (const c of file) fine!.chunks.set(c.id, c.bytes)
    await gone!.node.stop()
    const swarm = swarmOf(downloader, [gone!, fine!], { idleTimeoutMs: 1_000 })
    expectAllCorrect(await collect(swarm.getMany(ids)))
    const goneCounters = () => swarm.counters().find((c) => c.peerId === gone!.peerId)!
    expect(goneCounters().failures.BUSY).toBeGreaterThan(0)
    const requests = goneCounters().requests
    expectAllCorrect(await collect(swarm.getMany(ids)))
    expect(goneCounters().requests).toBe(requests)
  })

  it('a caller abort in mid-transfer ends getMany at once with the caller reason', async () => {
    const [server] = await start({ provider: slowly(400) })
    for (const c of file) server!.chunks.set(c.id, c.bytes)
    const swarm = swarmOf(downloader, [server!])
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('user cancelled')), 50)
    const started = Date.now()
    const error = await collect(swarm.getMany(ids, { signal: controller.signal })).catch((e) => e)
    expect((error as Error).message).toBe('user cancelled')
    expect(Date.now() - started).toBeLessThan(300)
  })
})
