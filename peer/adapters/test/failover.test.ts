/**
 * Failover between coordinator instances: two real coordinators (in process, one store
 * and one bus between them, as instances share Postgres and Redis) and a device that
 * knows both. When its home instance stops, the device's calls and its push channel move
 * to the other within one failed attempt, it misses no change (its cursor is its truth),
 * and it goes home once home answers its readiness probe again.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildApp } from '../../../coordinator/app.ts'
import { LocalDiskBlobStore } from '../../../coordinator/blobs/index.ts'
import { MemoryBusHub } from '../../../coordinator/bus/index.ts'
import { MemoryBus } from '../../../coordinator/bus/memory.ts'
import { testConfig } from '../../../coordinator/config.ts'
import { createAccount } from '../../../coordinator/services/accounts.ts'
import { type Db, openStore } from '../../../coordinator/store/index.ts'
import { peerIdentity } from '../../../coordinator/test/harness.ts'
import { createDomainSecret } from '../../../protocol/crypto/keys.ts'
import type { ServerMessage } from '../../../protocol/schemas/ws.ts'
import { watchCoordinators } from '../../daemon/failover.ts'
import { CoordinatorEndpoints } from '../endpoints.ts'
import { HttpCoordinator, linkDevice } from '../http-coordinator.ts'
import { WebSocketPush } from '../ws-push.ts'
import { encryptFile, uploadFile } from './coordinator-harness.ts'

let db: Db
let dir: string
let blobs: LocalDiskBlobStore
const hub = new MemoryBusHub()
const config = testConfig({ blobSigningSecret: 'failover-test-signing-secret' })
const start = async (port = 0): Promise<FastifyInstance> => {
  const app = await buildApp(config, { db, blobs, bus: new MemoryBus({ hub }) })
  await app.listen({ host: '127.0.0.1', port })
  return app
}
const urlOf = (app: FastifyInstance) => {
  const { port } = app.server.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

let home: FastifyInstance
let other: FastifyInstance
beforeAll(async () => {
  db = await openStore()
  dir = await mkdtemp(join(tmpdir(), 'cloudsync-failover-'))
  blobs = new LocalDiskBlobStore({ directory: dir })
  home = await start()
  // Listening last, the other instance's address is the one presigned URLs carry.
  other = await start()
})
afterAll(async () => {
  await Promise.allSettled([home?.close(), other?.close()])
  await blobs?.close()
  await db?.close()
  await rm(dir, { recursive: true, force: true })
})

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

it('moves to another instance when home dies, misses nothing, and goes home when home is ready', async () => {
  const { token } = await createAccount(db, { print: null, now: new Date() })
  const writerLink = await linkDevice(urlOf(other), {
    token,
    name: 'w',
    ...(await peerIdentity(token)),
  })
  const writer = new HttpCoordinator({ baseUrl: urlOf(other), credential: writerLink.credential })
  const invite = await writer.invite()
  const homeUrl = urlOf(home)
  const linked = await linkDevice(homeUrl, {
    token: invite.token,
    name: 'r',
    ...(await peerIdentity(invite.token)),
  })
  const endpoints = new CoordinatorEndpoints([homeUrl, urlOf(other)])
  const api = new HttpCoordinator({ endpoints, credential: linked.credential })
  const push = new WebSocketPush({
    endpoints,
    credential: linked.credential,
    connectTimeoutMs: 2000,
  })

  // The device: push from its cursor; when the channel ends, read the log, reopen.
  let cursor = 0
  const seen: number[] = []
  const take = (seq: number) => {
    if (seq === cursor + 1) {
      seen.push(seq)
      cursor = seq
    }
  }
  const stop = new AbortController()
  const device = (async () => {
    while (!stop.signal.aborted) {
      await push
        .open(
          cursor,
          (m: ServerMessage) => (m.type === 'change' ? take(m.change.seq) : undefined),
          stop.signal,
        )
        .catch(() => {})
      if (stop.signal.aborted) break
      const page = await api.changes(cursor).catch(() => undefined)
      for (const c of page?.changes ?? []) take(c.seq)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  const secret = createDomainSecret()
  const write = async (i: number) =>
    uploadFile(
      writer,
      `f${i}.txt`,
      await encryptFile(secret, new TextEncoder().encode(`file ${i}`)),
    )

  await write(1)
  await until('change 1 over home', () => seen.includes(1))
  expect(endpoints.current).toBe(homeUrl)

  const port = (home.server.address() as { port: number }).port
  await home.close()
  await write(2)
  await write(3)
  await until('changes 2 and 3 after failover', () => seen.includes(3))
  expect(endpoints.current).toBe(urlOf(other))

  // Home comes back; the device is told so by its readiness probe and goes back.
  home = await start(port)
  const stopWatching = watchCoordinators(api, { intervalMs: 100, log: () => {} })
  await until('back home', () => endpoints.atHome)
  await write(4)
  await until('change 4 after going home', () => seen.includes(4))
  stopWatching()
  stop.abort()
  await device
  expect(seen).toEqual([1, 2, 3, 4])
  // The instances list themselves for devices (GET /coordinators).
  expect(await api.coordinators()).toEqual(expect.arrayContaining([urlOf(other)]))
}, 60_000)
