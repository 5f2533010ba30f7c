/**
 * The coordinator of a simulated run: its real Fastify app, reached through `inject()`,
 * on an in-memory PGlite and an in-memory blob store (docs/SIMULATOR.md says why). The
 * database and the app are made once per process and wiped between runs: building them
 * costs far more than a run. A crash drops the app (its sockets, its in-memory bus and
 * caches) and a restart builds a new one on the same database and blobs, as a restarted
 * process finds Postgres and S3.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { FastifyInstance } from 'fastify'
import {
  buildApp,
  createAccount,
  type Db,
  MemoryBlobStore,
  MemoryBus,
  openStore,
  runGc,
  testConfig,
} from '../../coordinator/index.ts'
import type { HttpAnswer, HttpCall } from '../../peer/index.ts'
import { linkProofBytes } from '../../protocol/certificates.ts'
import type { LinkDeviceResponse } from '../../protocol/schemas/devices.ts'

export const COORDINATOR_URL = 'http://coordinator.sim'

interface Shared {
  db: Db
  tables: string[]
  app: FastifyInstance | undefined
  /** What the shared app's clock and blob store point at: the run in progress. */
  now: () => number
  blobs: MemoryBlobStore
}

let shared: Promise<Shared> | undefined

async function openShared(): Promise<Shared> {
  const db = await openStore({ inline: true })
  const { rows } = await db.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY tablename",
  )
  return {
    db,
    tables: rows.map((r) => r.tablename),
    app: undefined,
    now: () => 0,
    blobs: new MemoryBlobStore(),
  }
}

/** Forwards to the run's own blob store, so the shared app never holds another run's bytes. */
function blobsOf(s: Shared): MemoryBlobStore {
  return new Proxy(s.blobs, {
    get(_target, prop) {
      const value = Reflect.get(s.blobs, prop, s.blobs)
      return typeof value === 'function' ? value.bind(s.blobs) : value
    },
  })
}

export interface LinkedDevice {
  name: string
  deviceId: string
  credential: string
}

export class SimCoordinator {
  readonly #s: Shared
  #app: FastifyInstance
  /** Apps dropped by a crash: closed once the run is over. */
  readonly #dropped: FastifyInstance[] = []
  #up = true
  /** Bumped by every crash: calls of an older incarnation get no answer. */
  incarnation = 0

  private constructor(s: Shared, app: FastifyInstance) {
    this.#s = s
    this.#app = app
  }

  /** A coordinator with an empty database and blob store, on the run's clock. */
  static async open(now: () => number): Promise<SimCoordinator> {
    shared ??= openShared()
    const s = await shared
    await s.db.exec(`TRUNCATE ${s.tables.join(', ')} CASCADE`)
    s.now = now
    s.blobs = new MemoryBlobStore({ now, publicUrl: COORDINATOR_URL })
    s.app ??= await SimCoordinator.#build(s)
    return new SimCoordinator(s, s.app)
  }

  static #build(s: Shared): Promise<FastifyInstance> {
    return buildApp(testConfig({ publicUrl: COORDINATOR_URL }), {
      db: s.db,
      blobs: blobsOf(s),
      bus: new MemoryBus(),
      now: () => new Date(s.now()),
    })
  }

  get up(): boolean {
    return this.#up
  }

  get app(): FastifyInstance {
    return this.#app
  }

  crash(): void {
    if (!this.#up) return
    this.#up = false
    this.incarnation++
    this.#dropped.push(this.#app)
    this.#s.app = undefined
  }

  async restart(): Promise<void> {
    if (this.#up) return
    this.#app = await SimCoordinator.#build(this.#s)
    this.#s.app = this.#app
    this.#up = true
  }

  /** One HTTP exchange with the app as it is now. */
  async inject(call: HttpCall): Promise<HttpAnswer> {
    const url = new URL(call.url)
    const res = await this.#app.inject({
      method: call.method,
      url: url.pathname + url.search,
      headers: call.headers ?? {},
      ...(call.body !== undefined && {
        payload: typeof call.body === 'string' ? call.body : Buffer.from(call.body),
      }),
    })
    return { status: res.statusCode, body: res.rawPayload }
  }

  /** A new account and `count` linked devices, named device-0, device-1, ... */
  async newAccount(count: number): Promise<LinkedDevice[]> {
    const { token } = await createAccount(this.#s.db, {
      print: null,
      now: new Date(this.#s.now()),
    })
    const devices: LinkedDevice[] = []
    let next = token
    for (let i = 0; i < count; i++) {
      const name = `device-${i}`
      const key = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPublicKey(key.publicKey).toString()
      const res = await this.#app.inject({
        method: 'POST',
        url: '/devices',
        payload: {
          token: next,
          name,
          peerId,
          publicKey: Buffer.from(key.publicKey.raw).toString('base64'),
          proof: Buffer.from(await key.sign(linkProofBytes(next, peerId))).toString('base64'),
        },
      })
      if (res.statusCode !== 201) throw new Error(`link failed: ${res.statusCode} ${res.body}`)
      const linked = res.json() as LinkDeviceResponse
      devices.push({ name, deviceId: linked.deviceId, credential: linked.credential })
      if (i + 1 < count) {
        const invite = await this.#app.inject({
          method: 'POST',
          url: '/devices/invite',
          headers: { authorization: `Bearer ${linked.credential}` },
        })
        next = (invite.json() as { token: string }).token
      }
    }
    return devices
  }

  /** One garbage collection run, as the coordinator's timer would start it. */
  async collectGarbage(): Promise<void> {
    await runGc(this.#app, new Date(this.#s.now()))
  }

  /** Every chunk blob still stored, by key. */
  hasBlob(key: string): Promise<boolean> {
    return this.#s.blobs.head(key).then((h) => h !== null)
  }

  /** Closes the apps crashes dropped (the live one stays for the next run). */
  async finish(): Promise<void> {
    for (const app of this.#dropped.splice(0)) await app.close().catch(() => {})
  }
}
