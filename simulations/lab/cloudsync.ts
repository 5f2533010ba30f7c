/**
 * The product inside a lab, driven only through its command line (bin/cloudsync.ts): the
 * coordinator with its blob store in the cloud namespace, a linked folder and a `sync`
 * daemon per device host, and the status file each daemon rewrites every second.
 */
import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Lab } from './lab.ts'
import { NET } from './spec.ts'

const CLI = resolve(import.meta.dirname, '../../bin/cloudsync.ts')
const PORT = 8080
export const COORDINATOR_URL = `http://${NET.cloud}:${PORT}`
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** What `status.json` holds that the lab reads. */
export interface DeviceStatus {
  pid: number
  connected: boolean
  push?: { live: boolean; since?: string; lastError?: string }
  updatedAt: string
  devices: { name: string; online: boolean }[]
  sources: Record<string, { chunks: number; bytes: number; failures: number }>
  uploads: Record<string, number>
}

interface Proc {
  child: ChildProcess
  out: () => string
  err: () => string
}

function startCli(lab: Lab, host: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = lab.spawn(host, process.execPath, [CLI, ...args], env)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000)
  })
  return { child, out: () => out, err: () => err }
}

/** Runs a command to completion inside a host; its stdout, trimmed. */
async function runCli(
  lab: Lab,
  host: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<string> {
  return (await lab.exec(host, process.execPath, [CLI, ...args], timeoutMs)).trim()
}

async function stop(proc: Proc | undefined, crash: boolean): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return
  const exited = new Promise((r) => proc.child.once('exit', r))
  proc.child.kill(crash ? 'SIGKILL' : 'SIGTERM')
  // A daemon that does not stop within 15 s is killed: a run never hangs on its clean-up.
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/** The coordinator (embedded backends, blobs in `dataDir`) in the cloud namespace. */
export class LabCoordinator {
  readonly lab: Lab
  readonly dataDir: string
  #proc: Proc | undefined

  constructor(lab: Lab, dataDir: string) {
    this.lab = lab
    this.dataDir = dataDir
  }

  get running(): boolean {
    const child = this.#proc?.child
    return child !== undefined && child.exitCode === null && child.signalCode === null
  }

  async start(): Promise<void> {
    // The embedded backends, whatever the caller's environment says.
    const env: NodeJS.ProcessEnv = { LOG_LEVEL: 'warn', PUBLIC_URL: COORDINATOR_URL }
    for (const name of Object.keys(process.env))
      if (/^(DATABASE_URL|REDIS_URL|S3_|HOST$|PORT$|DATA_DIR$)/.test(name)) env[name] = ''
    const args = [
      'coordinator',
      '--data-dir',
      this.dataDir,
      '--host',
      '0.0.0.0',
      '--port',
      `${PORT}`,
    ]
    const proc = startCli(this.lab, 'cloud', args, env)
    this.#proc = proc
    await until('the coordinator to listen', 300_000, () => {
      if (proc.child.exitCode !== null)
        throw new Error(`coordinator exited: ${proc.err().slice(-2000)}`)
      return /listening on/.test(proc.out()) || undefined
    })
  }

  /** Stops it (SIGKILL when `crash`) and waits for its exit. */
  stop(crash = false): Promise<void> {
    return stop(this.#proc, crash)
  }

  /** A new account; its first device's link token. */
  createAccount(): Promise<string> {
    const args = ['account', 'create', '--coordinator', COORDINATOR_URL, '--data-dir', this.dataDir]
    return runCli(this.lab, 'cloud', args)
  }
}

/** One account's devices: a linked folder under `dir` and a `sync` daemon per device host. */
export class LabAccount {
  readonly lab: Lab
  readonly dir: string
  readonly #daemons = new Map<string, Proc>()

  constructor(lab: Lab, dir: string) {
    this.lab = lab
    this.dir = dir
  }

  folder(device: string): string {
    return join(this.dir, device)
  }

  /** Links the devices: the first by `token`, the others by invite codes from the first. */
  async link(token: string, devices: string[]): Promise<void> {
    const [first, ...rest] = devices
    const dir = this.folder(first!)
    await runCli(this.lab, first!, [
      'link',
      '--coordinator',
      COORDINATOR_URL,
      '--token',
      token,
      '--dir',
      dir,
      '--name',
      first!,
    ])
    for (const device of rest) {
      const code = await runCli(this.lab, first!, ['invite', '--dir', dir])
      await runCli(this.lab, device, ['link', code, '--dir', this.folder(device), '--name', device])
    }
  }

  startDaemon(device: string): void {
    const args = [
      'sync',
      '--dir',
      this.folder(device),
      '--listen',
      '/ip4/0.0.0.0/tcp/4001',
      '--log-level',
      'warn',
    ]
    this.#daemons.set(device, startCli(this.lab, device, args))
  }

  /** Stops a device's daemon: politely, or at once (SIGKILL) when `crash`. */
  async stopDaemon(device: string, crash = false): Promise<void> {
    const proc = this.#daemons.get(device)
    // Forgotten first: an exit asked for is not a daemon dying on its own.
    this.#daemons.delete(device)
    await stop(proc, crash)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#daemons.keys()].map((d) => this.stopDaemon(d)))
  }

  /** Throws when a daemon died on its own: a run must not wait for a dead device. */
  checkAlive(): void {
    for (const [name, proc] of this.#daemons)
      if (proc.child.exitCode !== null && proc.child.signalCode === null)
        throw new Error(`device ${name} exited ${proc.child.exitCode}: ${proc.err().slice(-2000)}`)
  }

  async status(device: string): Promise<DeviceStatus | undefined> {
    return readFile(join(this.folder(device), '.cloudsync', 'status.json'), 'utf8')
      .then((t) => JSON.parse(t) as DeviceStatus)
      .catch(() => undefined)
  }

  /** Waits until each device's daemon is connected to the coordinator and sees `peers` online. */
  async waitConnected(devices: string[], peers: number, timeoutMs = 120_000): Promise<void> {
    for (const device of devices)
      await until(`${device} connected, ${peers} peer(s) online`, timeoutMs, async () => {
        this.checkAlive()
        const s = await this.status(device)
        // The running daemon's own status: a restarted device's file is its predecessor's at first.
        const pid = this.#daemons.get(device)?.child.pid
        if (s?.pid !== pid) return undefined
        return (s?.connected && s.devices.filter((d) => d.online).length >= peers) || undefined
      }).catch(async (err: Error) => {
        // What each daemon last said: a timeout alone does not tell which side failed.
        const said = await Promise.all(
          [...this.#daemons].map(async ([name, proc]) => {
            const s = await this.status(name)
            const state = s
              ? JSON.stringify({
                  pid: s.pid,
                  connected: s.connected,
                  push: s.push,
                  devices: s.devices,
                  updatedAt: s.updatedAt,
                })
              : 'no status file'
            return `${name}: ${state}\n${proc.err().slice(-3000)}`
          }),
        )
        throw new Error(`${err.message}\n${said.join('\n')}`)
      })
  }
}

/** Polls `check` until it returns a value; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  everyMs = 100,
): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(everyMs)
  }
}
