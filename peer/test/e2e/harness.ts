/**
 * End-to-end harness: the real `cloudsync` binary (bin/cloudsync.ts) run as child
 * processes on the Node running the tests, a coordinator on embedded defaults, device
 * folders in a temp dir, everything on 127.0.0.1. Every process's output goes to a log
 * file under the run's temp dir (kept when E2E_KEEP is set, for debugging), and every
 * wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readStatus, STATE_DIR } from './observe.ts'
import { waitFor } from './wait.ts'

export * from './observe.ts'
export * from './wait.ts'

export const REPO = join(import.meta.dirname, '..', '..', '..')
export const BIN = join(REPO, 'bin', 'cloudsync.ts')

/** The environment children get: nothing from ours that the coordinator's config reads. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    TMPDIR: tmpdir(),
    ...extra,
  }
}

/** A child process whose output (stdout and stderr) is kept in memory and in a log file. */
export class Proc {
  readonly child: ChildProcess
  readonly name: string
  readonly logFile: string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #output = ''
  readonly #log: WriteStream

  constructor(name: string, args: string[], logFile: string, env = childEnv()) {
    this.name = name
    this.logFile = logFile
    this.#log = createWriteStream(logFile, { flags: 'a' })
    this.#log.write(`--- ${new Date().toISOString()} ${args.join(' ')}\n`)
    this.child = spawn(process.execPath, args, {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const onData = (data: Buffer) => {
      this.#output += data.toString()
      this.#log.write(data)
    }
    this.child.stdout!.on('data', onData)
    this.child.stderr!.on('data', onData)
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#log.end(`--- exit ${code ?? signal}\n`)
        resolve({ code, signal })
      })
    })
  }

  get output(): string {
    return this.#output
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  get pid(): number {
    return this.child.pid!
  }

  /** Sends the signal (SIGTERM: a clean stop; SIGKILL: a crash) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<void> {
    if (!this.running) return
    this.child.kill(signal)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    await this.exited
    clearTimeout(timer)
  }

  /** Resolves with the first match of `pattern` in the output. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    return waitFor(
      () => {
        const match = pattern.exec(this.#output)
        if (match) return match
        if (!this.running) throw new Error(`${this.name} exited:\n${this.#output.slice(-3000)}`)
        return undefined
      },
      { timeoutMs, what: `${pattern} in the output of ${this.name}` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${this.name} output:\n${this.#output.slice(-3000)}`)
    })
  }
}

export interface Coordinator {
  url: string
  port: number
  dataDir: string
  proc: Proc
}

export interface Device {
  name: string
  dir: string
  stateDir: string
  /** The running daemon, if any. */
  daemon?: Proc
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** One test file's world: its temp dir, its processes, and cleanup of all of them. */
export class E2E {
  readonly root: string
  readonly logs: string
  readonly #procs = new Set<Proc>()
  #seq = 0

  private constructor(root: string) {
    this.root = root
    this.logs = join(root, 'logs')
  }

  static async create(label: string): Promise<E2E> {
    const root = await mkdtemp(join(tmpdir(), `cloudsync-e2e-${label}-`))
    const e2e = new E2E(root)
    await mkdir(e2e.logs, { recursive: true })
    return e2e
  }

  /** Spawns `node <script> ...args` with its output logged under `name`. */
  spawn(name: string, script: string, args: string[], env?: Record<string, string>): Proc {
    const logFile = join(this.logs, `${String(++this.#seq).padStart(2, '0')}-${name}.log`)
    const proc = new Proc(name, [script, ...args], logFile, childEnv(env))
    this.#procs.add(proc)
    void proc.exited.then(() => this.#procs.delete(proc))
    return proc
  }

  /** Runs one CLI command to completion (bounded). */
  async cli(args: string[], timeoutMs = 60_000): Promise<RunResult> {
    const proc = this.spawn(`cli-${args[0]}`, BIN, args)
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs)
    let stdout = ''
    let stderr = ''
    proc.child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    proc.child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const { code } = await proc.exited
    clearTimeout(timer)
    return { code, stdout, stderr }
  }

  /** Like `cli`, but throws unless the command exits 0. Returns stdout, trimmed. */
  async cliOk(args: string[], timeoutMs?: number): Promise<string> {
    const r = await this.cli(args, timeoutMs)
    if (r.code !== 0) {
      throw new Error(`cloudsync ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`)
    }
    return r.stdout.trim()
  }

  /**
   * Starts a coordinator (PGlite and local blobs in `dataDir`); on a given port to restart
   * one in place. Resolves once it prints its listening line.
   */
  async startCoordinator(
    options: {
      dataDir?: string
      port?: number
      env?: Record<string, string>
      startTimeoutMs?: number
    } = {},
  ): Promise<Coordinator> {
    const dataDir = options.dataDir ?? join(this.root, 'coordinator')
    const proc = this.spawn(
      'coordinator',
      BIN,
      ['coordinator', '--data-dir', dataDir, '--port', String(options.port ?? 0)],
      { LOG_LEVEL: 'warn', ...options.env },
    )
    const match = await proc.waitForOutput(
      /listening on (http:\/\/\S+)/,
      options.startTimeoutMs ?? 60_000,
    )
    const url = match[1]!
    return { url, port: Number(new URL(url).port), dataDir, proc }
  }

  /** A new account's link token. */
  createAccount(coordinator: Coordinator): Promise<string> {
    return this.cliOk([
      'account',
      'create',
      '--coordinator',
      coordinator.url,
      '--data-dir',
      coordinator.dataDir,
    ])
  }

  folder(name: string): string {
    return join(this.root, 'devices', name)
  }

  /** Links the account's first device with the CLI. */
  async linkFirst(coordinator: Coordinator, token: string, name: string): Promise<Device> {
    const dir = this.folder(name)
    await this.cliOk([
      'link',
      '--coordinator',
      coordinator.url,
      '--token',
      token,
      '--dir',
      dir,
      '--name',
      name,
    ])
    return { name, dir, stateDir: join(dir, STATE_DIR) }
  }

  /** Links another device of `existing`'s account through `invite` and a link code. */
  async linkAnother(existing: Device, name: string): Promise<Device> {
    const code = await this.cliOk(['invite', '--dir', existing.dir])
    const dir = this.folder(name)
    await this.cliOk(['link', code, '--dir', dir, '--name', name])
    return { name, dir, stateDir: join(dir, STATE_DIR) }
  }

  /** A new account with `names.length` devices, linked with the CLI. */
  async account<const N extends readonly string[]>(
    coordinator: Coordinator,
    names: N,
  ): Promise<{ -readonly [K in keyof N]: Device }> {
    const token = await this.createAccount(coordinator)
    const first = await this.linkFirst(coordinator, token, names[0]!)
    const devices = [first]
    for (const name of names.slice(1)) devices.push(await this.linkAnother(first, name))
    return devices as { -readonly [K in keyof N]: Device }
  }

  /**
   * Starts `cloudsync sync` on the device, listening on loopback only (never mDNS), and
   * waits until its status file says this process is connected to the coordinator.
   */
  async startDaemon(
    device: Device,
    options: { waitConnected?: boolean; extraArgs?: string[] } = {},
  ): Promise<Proc> {
    const proc = this.spawn(`daemon-${device.name}`, BIN, [
      'sync',
      '--dir',
      device.dir,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--log-level',
      'info',
      ...(options.extraArgs ?? []),
    ])
    device.daemon = proc
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`daemon exited:\n${proc.output.slice(-3000)}`)
        const status = await readStatus(device)
        return (
          status?.pid === proc.pid &&
          (options.waitConnected === false || status.connected) &&
          status
        )
      },
      { timeoutMs: 60_000, what: `daemon of ${device.name} to start and connect` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- daemon output:\n${proc.output.slice(-3000)}`)
    })
    return proc
  }

  async stopDaemon(device: Device, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await device.daemon?.kill(signal)
    device.daemon = undefined
  }

  /** Kills every process still running and removes the temp dir (unless E2E_KEEP is set). */
  async cleanup(): Promise<void> {
    await Promise.all([...this.#procs].map((p) => p.kill('SIGKILL')))
    if (process.env.E2E_KEEP) {
      process.stderr.write(`e2e: kept ${this.root}\n`)
      return
    }
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 })
  }
}
