/**
 * Real coordinator processes for the `*.process.test.ts` files: `node coordinator/server.ts`
 * spawned with an environment (on the Node running the tests), devices linked and files
 * uploaded over real HTTP, and the backends' reachability, so suites skip loudly.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { generateCoordinatorKeys } from '../../protocol/certificates.ts'
import type { LinkDeviceResponse } from '../../protocol/schemas/devices.ts'
import { createAccount } from '../services/accounts.ts'
import type { Db } from '../store/index.ts'
import { DATABASE_URL, postgresReachable } from '../store/test/pg-harness.ts'
import { peerIdentity, type TestFile } from './harness.ts'

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const REPO = join(import.meta.dirname, '..', '..')

export async function redisReachable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch (err) {
    process.stderr.write(
      `WARNING: Redis at ${REDIS_URL} is unreachable (${(err as Error).message}): skipping its tests\n`,
    )
    return false
  } finally {
    probe.disconnect()
  }
}

/** Both production backends answer (each check warns on stderr when not). */
export async function backendsReachable(): Promise<boolean> {
  const [pg, redis] = await Promise.all([postgresReachable(), redisReachable()])
  return pg && redis
}

/** DATABASE_URL whose connections work in `schema` (libpq's `options` startup parameter). */
export function databaseUrlFor(schema: string): string {
  const url = new URL(DATABASE_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return url.toString()
}

/** One COORDINATOR_KEY for every instance of a test (they must share it). */
export const sharedCoordinatorKey = (): string => generateCoordinatorKeys().privateKey

export interface CoordinatorProcess {
  url: string
  child: ChildProcess
  /** Sends the signal and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** Starts `node coordinator/server.ts` in its own data dir (under `dataRoot`, default the
 * temp dir); resolves on its listening line. `nodeArgs` go before the script (the
 * benchmark's `--cpu-prof`). */
export async function spawnCoordinator(
  env: Record<string, string>,
  {
    timeoutMs = 30_000,
    nodeArgs = [],
    dataRoot = tmpdir(),
  }: { timeoutMs?: number; nodeArgs?: string[]; dataRoot?: string } = {},
): Promise<CoordinatorProcess> {
  const dataDir = await mkdtemp(join(dataRoot, 'cloudsync-coord-'))
  const child = spawn(process.execPath, [...nodeArgs, 'coordinator/server.ts'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const cleanup = () => rm(dataDir, { recursive: true, force: true })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no listening line within ${timeoutMs} ms`), timeoutMs)
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`coordinator did not start: ${why}\n${output.slice(-2000)}`))
    }
    const onData = (data: Buffer) => {
      output += data.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (data: Buffer) => {
      output += data.toString()
    })
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal})`))
  }).catch(async (err) => {
    await cleanup()
    throw err
  })
  return {
    url,
    child,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
      await cleanup()
    },
  }
}

export interface HttpDevice extends LinkDeviceResponse {
  /** JSON request as this device to `baseUrl` (any instance). */
  call(baseUrl: string, method: string, path: string, body?: unknown): Promise<HttpAnswer>
}

export interface HttpAnswer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON the tests check field by field
  body: any
}

export async function request(
  url: string,
  method: string,
  body?: unknown,
  credential?: string,
): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(credential && { authorization: `Bearer ${credential}` }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

/** A new account (made in the store, as the operator command does) with devices linked
 * over HTTP; invites after the first. */
export async function linkAccount(db: Db, baseUrl: string, names: string[]): Promise<HttpDevice[]> {
  let { token } = await createAccount(db, { print: null })
  const devices: HttpDevice[] = []
  for (const name of names) {
    if (devices.length > 0) {
      token = (await devices[0]!.call(baseUrl, 'POST', '/devices/invite')).body.token
    }
    const linked = await request(`${baseUrl}/devices`, 'POST', {
      token,
      name,
      ...(await peerIdentity(token)),
    })
    if (linked.status !== 201) throw new Error(`link failed: ${linked.status}`)
    const device: LinkDeviceResponse = linked.body
    devices.push({
      ...device,
      call: (base, method, path, body) =>
        request(`${base}${path}`, method, body, device.credential),
    })
  }
  return devices
}

/** init, PUT each missing chunk to its presigned URL, complete: all through `baseUrl`. */
export async function uploadVia(
  device: HttpDevice,
  baseUrl: string,
  path: string,
  file: TestFile,
): Promise<{ sessionId: string; result: HttpAnswer['body'] }> {
  const init = await device.call(baseUrl, 'POST', '/files/upload/init', {
    path,
    ...file.manifest,
    baseVersion: null,
  })
  if (init.status !== 201) throw new Error(`init ${init.status}: ${JSON.stringify(init.body)}`)
  const { sessionId, uploads } = init.body
  for (const u of uploads) {
    const bytes = file.bytes.get(file.manifest.chunks[u.index]!.id)
    const put = await fetch(u.url, { method: 'PUT', headers: u.headers, body: bytes })
    if (!put.ok) throw new Error(`PUT ${put.status}: ${await put.text()}`)
  }
  const done = await device.call(baseUrl, 'POST', `/files/upload/${sessionId}/complete`)
  if (done.status !== 200) throw new Error(`complete ${done.status}: ${JSON.stringify(done.body)}`)
  return { sessionId, result: done.body }
}
