import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateCoordinatorKeys, issueCertificate } from '../../../protocol/certificates.ts'
import {
  type Account,
  certify,
  type Device,
  helloWith,
  newAccount,
  randomChunk,
  rawRequest,
  startDevice,
  stopAll,
  swarmOf,
} from './helpers.ts'

/**
 * A peer serves chunks only to devices of its own account, as the coordinator certified
 * them for the very peer id on the connection. Each stranger below asks the server with a
 * raw client (it does not check the server first) and must get no chunk bytes.
 */
describe('who may fetch chunks', () => {
  const account = newAccount()
  const otherAccount = newAccount(account.keys)
  const forger: Account = { keys: generateCoordinatorKeys(), accountId: account.accountId }
  let server: Device
  let member: Device
  let stranger: Device
  const chunk = randomChunk(64 * 1024)

  beforeAll(async () => {
    ;[server, member, stranger] = await Promise.all([
      startDevice(account),
      startDevice(account),
      startDevice(otherAccount),
    ])
    server.chunks.set(chunk.id, chunk.bytes)
  })
  afterAll(() => stopAll([server, member, stranger]))

  const refusedEverything = (frames: { kind: string; header?: { status: string } }[]) => {
    expect(frames.some((f) => f.kind === 'body')).toBe(false)
    const headers = frames.filter((f) => f.kind === 'header')
    expect(headers.length).toBeGreaterThan(0)
    for (const h of headers) expect(h.header?.status).toBe('forbidden')
  }

  it('answers a genuine member with the bytes (the control case)', async () => {
    const { frames, error } = await rawRequest(
      member,
      server,
      helloWith(member.identity.certificate),
      [chunk.id],
    )
    expect(error).toBeUndefined()
    const body = frames.find((f) => f.kind === 'body')
    expect(body?.kind === 'body' && Buffer.from(body.bytes).equals(chunk.bytes)).toBe(true)
  })

  it('refuses a device of another account', async () => {
    const { frames } = await rawRequest(
      stranger,
      server,
      helloWith(stranger.identity.certificate),
      [chunk.id],
    )
    refusedEverything(frames)
  })

  it('refuses a certificate signed by another coordinator key', async () => {
    const forged = helloWith(certify(forger, stranger.peerId))
    const { frames } = await rawRequest(stranger, server, forged, [chunk.id, randomChunk(10).id])
    refusedEverything(frames)
    expect(frames.filter((f) => f.kind === 'header')).toHaveLength(2)
  })

  it("refuses a member's certificate presented from another peer id", async () => {
    const stolen = helloWith(member.identity.certificate)
    const { frames } = await rawRequest(stranger, server, stolen, [chunk.id])
    refusedEverything(frames)
  })

  it('refuses an expired certificate of a member', async () => {
    const expired = issueCertificate(
      {
        ...member.identity.certificate.payload,
        issuedAt: Date.now() - 60_000,
        expiresAt: Date.now() - 1_000,
      },
      account.keys.privateKey,
    )
    const { frames } = await rawRequest(member, server, helloWith(expired), [chunk.id])
    refusedEverything(frames)
  })

  it('sends nothing but its own hello to a requester with no certificate', async () => {
    const { frames, error } = await rawRequest(stranger, server, undefined, [chunk.id])
    // The server drops the stream at the request that came without a hello.
    expect(error).toBeDefined()
    expect(frames.map((f) => f.kind)).toEqual(['hello'])
  })

  it('counts every refused chunk', () => {
    expect(server.node.services.chunks.counters.forbidden).toBeGreaterThanOrEqual(4)
  })

  it('a SwarmSource of another account gets FORBIDDEN and no bytes', async () => {
    const results = []
    for await (const r of swarmOf(stranger, [server]).getMany([chunk.id])) results.push(r)
    expect(results[0]?.bytes).toBeUndefined()
    expect(results[0]?.error?.code).toBe('FORBIDDEN')
  })

  it('a SwarmSource does not ask a server whose certificate is for another account', async () => {
    const served = server.node.services.chunks.counters.chunksServed
    // member asks the stranger as if it were a device of the account: member checks the
    // stranger's hello first and never sends the request.
    stranger.chunks.set(chunk.id, chunk.bytes)
    const error = await swarmOf(member, [stranger])
      .get(chunk.id)
      .catch((e) => e)
    expect(error.code).toBe('FORBIDDEN')
    expect(stranger.node.services.chunks.counters.chunksServed).toBe(0)
    expect(server.node.services.chunks.counters.chunksServed).toBe(served)
  })
})
