/**
 * Several coordinators under faults, as real processes: three instances on one private
 * Postgres and one private Redis (both started, stopped and killed by this test, never the
 * machine's), chunk bytes in s3rver, three devices of one account each on a different
 * instance, and a small continuous workload. Faults, one after the other: Redis killed for
 * 10 s with writes only during the outage; Postgres stopped (immediate) for 10 s; kill -9 of
 * an instance and its restart; the blob store down for 10 s during an upload. After each,
 * every device has every change of the log exactly once, in order; the largest delay from
 * a commit's answer to its arrival on a device is printed per fault.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPg } from '../store/pg.ts'
import { FaultDevice, Workload } from './fault-workload.ts'
import { makeFile } from './harness.ts'
import {
  type PrivateService,
  privateServicesAvailable,
  startPrivatePostgres,
  startPrivateRedis,
} from './private-services.ts'
import {
  type CoordinatorProcess,
  type HttpDevice,
  linkAccount,
  sharedCoordinatorKey,
  spawnCoordinator,
} from './process-harness.ts'

const available = privateServicesAvailable()
const OUTAGE_MS = 10_000
const BUCKET = 'cloudsync-faults'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!available)('three coordinators under faults', () => {
  let postgres: PrivateService
  let redis: PrivateService
  let s3: S3rver
  let s3Dir: string
  let s3Port: number
  let env: Record<string, string>
  const instances: CoordinatorProcess[] = []
  let writer: HttpDevice
  const devices: FaultDevice[] = []
  let workload: Workload
  const urls = () => instances.map((i) => i.url)

  const openS3 = async (port = 0) => {
    s3 = new S3rver({
      address: '127.0.0.1',
      port,
      directory: s3Dir,
      silent: true,
      configureBuckets: [{ name: BUCKET }],
    })
    s3Port = (await s3.run()).port
  }

  beforeAll(async () => {
    ;[postgres, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()])
    s3Dir = await mkdtemp(join(tmpdir(), 'cloudsync-faults-s3-'))
    await openS3()
    env = {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      COORDINATOR_KEY: sharedCoordinatorKey(),
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    }
    // One first (it migrates), then the others.
    instances.push(await spawnCoordinator(env))
    instances.push(...(await Promise.all([spawnCoordinator(env), spawnCoordinator(env)])))
    const db = openPg({ connectionString: postgres.url, max: 2 })
    try {
      const linked = await linkAccount(db, urls()[0]!, ['writer', 'd0', 'd1', 'd2'])
      writer = linked[0]!
      linked.slice(1).forEach((d, i) => {
        // Each device on its own instance, the others its fallbacks.
        const order = [...urls().slice(i), ...urls().slice(0, i)]
        devices.push(new FaultDevice(d.credential, order))
      })
    } finally {
      await db.close()
    }
    for (const d of devices) d.start()
    workload = new Workload(writer, urls)
  }, 120_000)

  afterAll(async () => {
    for (const d of devices) d.stop()
    await workload?.stop()
    await Promise.allSettled(instances.map((i) => i.kill('SIGKILL')))
    await s3?.close()
    await Promise.allSettled([postgres?.destroy(), redis?.destroy()])
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true })
  })

  /** Every device holds the whole log, once, in order; prints the largest delay of the
   * commits since `since`, and the slowest upload then. */
  async function converged(fault: string, since: number): Promise<void> {
    const last = await workload.lastSeq()
    expect(last).toBeGreaterThan(0)
    const deadline = Date.now() + 30_000
    while (devices.some((d) => d.cursor < last) && Date.now() < deadline) await sleep(100)
    const range = Array.from({ length: last }, (_, i) => i + 1)
    for (const d of devices) expect(d.seen).toEqual(range)
    const delay = Math.max(...devices.map((d) => d.maxDelayMs(workload.committedAt, since)))
    const uploads = workload.uploads.filter((u) => u.at >= since).map((u) => u.ms)
    process.stdout.write(
      `fault ${fault}: ${last} changes on every device; max propagation delay ${delay} ms; ` +
        `${uploads.length} uploads, slowest ${Math.max(0, ...uploads)} ms\n`,
    )
  }

  it('Redis killed for 10 s, writes only during the outage: nothing missed', async () => {
    const since = Date.now()
    workload.start()
    await sleep(1500)
    await workload.pause()
    await redis.stop()
    workload.start()
    await sleep(OUTAGE_MS)
    await workload.pause()
    await redis.start()
    await converged('redis-down', since)
  }, 90_000)

  it('Postgres stopped for 10 s under the workload: 503s retried, nothing missed', async () => {
    const since = Date.now()
    workload.start()
    await sleep(1000)
    await postgres.stop()
    await sleep(OUTAGE_MS)
    await postgres.start()
    await sleep(2000)
    await workload.pause()
    await converged('postgres-down', since)
    expect(workload.statuses.has(500)).toBe(false)
  }, 90_000)

  it('kill -9 of an instance and its restart: its device moves on and misses nothing', async () => {
    const since = Date.now()
    workload.start()
    await sleep(1000)
    const victim = instances[1]!
    await victim.kill('SIGKILL')
    await sleep(3000)
    // Under a loaded machine a start can take tens of seconds; the workload runs meanwhile.
    instances[1] = await spawnCoordinator(env, { timeoutMs: 90_000 })
    devices[1]!.addUrl(instances[1].url)
    await sleep(2000)
    await workload.pause()
    await converged('kill-9', since)
  }, 150_000)

  it('blob store down for 10 s during an upload: the upload resumes and commits', async () => {
    const since = Date.now()
    await s3.close()
    const file = makeFile([200_000])
    const upload = workload.uploadOnce('during-s3-outage.bin', file)
    await sleep(OUTAGE_MS)
    await openS3(s3Port)
    const result = await upload
    expect(result.path).toBe('during-s3-outage.bin')
    await converged('blob-store-down', since)
  }, 90_000)
})
