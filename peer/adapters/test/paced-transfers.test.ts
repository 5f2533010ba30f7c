/**
 * Rate limits where bytes move: a chunk PUT and GET over real node:http sockets, and chunk
 * streams between two real libp2p nodes. Each limit is a pace that grants bytes only when
 * the test says so, so the checks count bytes against grants, never against time.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MiB } from '../../../protocol/constants.ts'
import { PACED_SLICE_BYTES } from '../../ports/pace.ts'
import { newAccount, randomChunk, startDevice, stopAll, swarmOf } from '../../swarm/test/helpers.ts'
import { HttpCoordinator } from '../http-coordinator.ts'

/** A pace that records each grant; `hold` makes each wait for a `release()`. */
function recordingPace() {
  const pace = {
    granted: 0,
    slices: [] as number[],
    waiting: undefined as (() => void) | undefined,
    /** Releases given while nobody waited: the next takes pass at once. */
    credit: 0,
    hold: false,
    release() {
      const go = pace.waiting
      pace.waiting = undefined
      if (go) go()
      else pace.credit++
    },
    take: async (bytes: number) => {
      if (pace.hold) {
        if (pace.credit > 0) pace.credit--
        else await new Promise<void>((go) => (pace.waiting = go))
      }
      pace.slices.push(bytes)
      pace.granted += bytes
    },
  }
  return pace
}

describe('cloud chunk transfers under a limit', () => {
  let server: Server
  let base: string
  let received = 0
  /** Bytes the server had received beyond the grants, at its worst. */
  let overshoot = 0
  let upPace: ReturnType<typeof recordingPace>
  const body = randomBytes(MiB)

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method === 'PUT') {
        received = 0
        req.on('data', (part: Buffer) => {
          received += part.length
          overshoot = Math.max(overshoot, received - upPace.granted)
          // Every granted byte is in: grant the next slice.
          if (received === upPace.granted) upPace.release()
        })
        req.on('end', () => res.end())
      } else res.end(body)
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((done) => server.close(() => done())))

  it('a PUT sends no byte before the limit grants it, in small slices', async () => {
    upPace = recordingPace()
    upPace.hold = true
    const api = new HttpCoordinator({ baseUrl: base, credential: 'x', pace: { up: upPace.take } })
    const put = api.putChunk({ index: 0, url: `${base}/chunk`, headers: {} } as never, body)
    // Nothing granted yet: release the first slice once the request is under way.
    setImmediate(() => upPace.release())
    await put
    expect(received).toBe(MiB)
    expect(overshoot).toBe(0)
    expect(upPace.granted).toBe(MiB)
    expect(Math.max(...upPace.slices)).toBeLessThanOrEqual(PACED_SLICE_BYTES)
  })

  it('a GET reads every byte through the limit', async () => {
    const down = recordingPace()
    const api = new HttpCoordinator({ baseUrl: base, credential: 'x', pace: { down: down.take } })
    const bytes = await api.fetchChunk(`${base}/chunk`)
    expect(Buffer.from(bytes).equals(body)).toBe(true)
    expect(down.granted).toBe(MiB)
  })
})

describe('LAN chunk streams under a limit', () => {
  const account = newAccount()
  const chunks = [randomChunk(MiB), randomChunk(MiB + 123)]
  const total = chunks.reduce((n, c) => n + c.bytes.length, 0)
  const served = recordingPace()

  it('serving and fetching take tokens for every chunk byte, served in small slices', async () => {
    const [alice, bob] = await Promise.all([
      startDevice(account, { service: { pace: served.take } }),
      startDevice(account),
    ])
    try {
      for (const c of chunks) alice.chunks.set(c.id, c.bytes)
      const fetched = recordingPace()
      const swarm = swarmOf(bob, [alice], { pace: fetched.take })
      for await (const r of swarm.getMany(chunks.map((c) => c.id))) expect(r.error).toBeUndefined()
      expect(served.granted).toBeGreaterThanOrEqual(total)
      expect(Math.max(...served.slices)).toBeLessThanOrEqual(PACED_SLICE_BYTES)
      // Everything read comes under the limit: the bodies and their frames.
      expect(fetched.granted).toBeGreaterThanOrEqual(total)
    } finally {
      await stopAll([alice, bob])
    }
  })
})
