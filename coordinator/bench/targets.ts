/**
 * The coordinators a benchmark run measures: processes it starts itself on Postgres (a
 * fresh schema, dropped after) and Redis, or on the embedded defaults (PGlite in a temp
 * data dir), or one already running at `--url`. Each comes with its seeded accounts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dataPaths } from '../config.ts'
import { type Db, openStore } from '../store/index.ts'
import { createTestSchema } from '../store/test/pg-harness.ts'
import {
  type CoordinatorProcess,
  databaseUrlFor,
  REDIS_URL,
  sharedCoordinatorKey,
  spawnCoordinator,
} from '../test/process-harness.ts'
import { type SeededDevice, seedViaAdmin, seedViaHttp, seedViaStore } from './seed.ts'

/** A loaded machine (shared with tests) can take long to start a coordinator. */
const START_TIMEOUT_MS = 120_000

export interface Plan {
  /** Accounts (one device each) the commit and read workloads write to. */
  commitAccounts: number
  /** The idle fleet: this many accounts of `fleetDevices / fleetAccounts` devices. */
  fleetAccounts: number
  fleetDevices: number
  /** Extra node flags for the coordinators started here (e.g. --cpu-prof). */
  nodeArgs: string[]
  /** Where the Postgres-backed coordinators keep their data dirs, and so the local blob
   * store that stands in for S3 (see coordinator.ts). */
  blobRoot: string
}

export interface Target {
  backend: string
  instances: string[]
  committers: SeededDevice[]
  fleet: SeededDevice[][]
  /** The coordinator processes started here (memory is read from /proc). */
  pids?: number[]
  stop(): Promise<void>
}

function fleetPlan(plan: Plan): number[] {
  const per = Math.max(1, Math.round(plan.fleetDevices / Math.max(1, plan.fleetAccounts)))
  return Array.from({ length: plan.fleetAccounts }, () => per)
}

async function seed(db: Db, plan: Plan) {
  const accounts = await seedViaStore(db, [
    ...Array.from({ length: plan.commitAccounts }, () => 1),
    ...fleetPlan(plan),
  ])
  return {
    committers: accounts.slice(0, plan.commitAccounts).map((a) => a[0]!),
    fleet: accounts.slice(plan.commitAccounts),
  }
}

/** `instances` coordinators on one fresh Postgres schema and the Redis bus. */
export async function startPostgres(plan: Plan, instances: number): Promise<Target> {
  const schema = await createTestSchema()
  const databaseUrl = databaseUrlFor(schema.name)
  const procs: CoordinatorProcess[] = []
  let db: Db | undefined
  const stop = async () => {
    await Promise.allSettled(procs.map((p) => p.kill()))
    await db?.close()
    await schema.drop()
  }
  try {
    db = await openStore({ databaseUrl }) // migrates the schema before anyone starts
    const seeded = await seed(db, plan)
    const env = { DATABASE_URL: databaseUrl, REDIS_URL, COORDINATOR_KEY: sharedCoordinatorKey() }
    for (let i = 0; i < instances; i++) {
      procs.push(
        await spawnCoordinator(env, {
          nodeArgs: plan.nodeArgs,
          dataRoot: plan.blobRoot,
          timeoutMs: START_TIMEOUT_MS,
        }),
      )
    }
    const pids = procs.map((p) => p.child.pid!)
    return { backend: 'postgres+redis', instances: procs.map((p) => p.url), pids, ...seeded, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** One coordinator on the embedded defaults; PGlite is single-process, so the accounts are
 * written into its data dir before it starts. */
export async function startEmbedded(plan: Plan): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cloudsync-bench-'))
  let proc: CoordinatorProcess | undefined
  const stop = async () => {
    await proc?.kill()
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const db = await openStore({ dataDir: dataPaths(dataDir).database })
    const seeded = await seed(db, plan).finally(() => db.close())
    proc = await spawnCoordinator(
      { DATA_DIR: dataDir },
      { nodeArgs: plan.nodeArgs, timeoutMs: START_TIMEOUT_MS },
    )
    return { backend: 'embedded', instances: [proc.url], ...seeded, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * A coordinator already running, seeded over HTTP. With the operator token the plan is
 * made in full (accounts through `POST /admin/accounts`); with only a link token there is
 * one account, whose devices commit and listen, and no idle fleet.
 */
export async function useRunning(
  url: string,
  access: { operatorToken?: string | undefined; token?: string | undefined },
  plan: Plan,
): Promise<Target> {
  const base = url.replace(/\/+$/, '')
  const stop = async () => {}
  if (access.operatorToken) {
    const accounts = await seedViaAdmin(base, access.operatorToken, [
      ...Array.from({ length: plan.commitAccounts }, () => 1),
      ...fleetPlan(plan),
    ])
    const committers = accounts.slice(0, plan.commitAccounts).map((a) => a[0]!)
    return {
      backend: `running at ${base}`,
      instances: [base],
      committers,
      fleet: accounts.slice(plan.commitAccounts),
      stop,
    }
  }
  if (!access.token) throw new Error('--url needs --operator-token or --token')
  const committers = await seedViaHttp(base, access.token, Math.max(2, plan.commitAccounts))
  return { backend: `running at ${base}`, instances: [base], committers, fleet: [committers], stop }
}
