/**
 * What the peer benchmarks share: real `cloudsync` processes (coordinator, devices, put)
 * started on loopback in fresh temp dirs, RSS sampled from /proc, bounded waits, and a
 * clean-up that ends every process and removes every file even when the run fails.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, statfs } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const CLI = resolve(import.meta.dirname, '../../bin/cloudsync.ts')

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Polls `check` every `everyMs` until it returns a value, for at most `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, everyMs = 50 } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(everyMs)
  }
}

/** RSS of a live process in MB (VmRSS, or VmHWM: its peak so far), from /proc. */
export function procMemMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]
    return kb === undefined ? undefined : (Number(kb) * 1024) / 1e6
  } catch {
    return undefined
  }
}

/** CPU time a process has used so far (every thread, user and system), in seconds. */
export function cpuSeconds(pid: number): { user: number; system: number } {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }
  } catch {
    return { user: 0, system: 0 }
  }
}

/** Samples the RSS of some processes every `everyMs` until stopped; keeps each one's peak. */
export class RssSampler {
  readonly peaks = new Map<number, number>()
  readonly #timer: NodeJS.Timeout

  constructor(pids: number[], everyMs = 50) {
    const sample = () => {
      for (const pid of pids) {
        const mb = procMemMb(pid)
        if (mb !== undefined) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, mb))
      }
    }
    sample()
    this.#timer = setInterval(sample, everyMs)
  }

  stop(): Map<number, number> {
    clearInterval(this.#timer)
    return this.peaks
  }
}

/** Free bytes on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path)
  return s.bavail * s.bsize
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }))
    hash.update(piece as Buffer)
  return hash.digest('hex')
}

/**
 * `dd if=/dev/zero of=FILE bs=1M count=N conv=fsync`: what the disk sustains for a plain
 * sequential write that ends in fsync. Returns MB/s.
 */
export function ddMbps(file: string, mib: number): number {
  const start = performance.now()
  const dd = spawnSync(
    'dd',
    ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fsync'],
    {
      encoding: 'utf8',
      timeout: 600_000,
    },
  )
  const ms = performance.now() - start
  if (dd.status !== 0) throw new Error(`dd failed: ${dd.stderr || dd.error}`)
  // dd's own figure excludes process start; use it when it parses.
  const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(dd.stderr)
  return m ? Number(m[1]) / 1e6 / Number(m[2]) : (mib * 1024 * 1024) / 1e6 / (ms / 1000)
}

/**
 * Every process and directory a benchmark made, ended and removed by `close()` (also on
 * SIGINT/SIGTERM), so a failed run leaves nothing behind.
 */
export class Workspace {
  readonly #children = new Set<ChildProcess>()
  readonly #dirs: string[] = []
  readonly #onSignal = () => {
    void this.close().finally(() => process.exit(130))
  }
  #closed = false

  constructor() {
    process.once('SIGINT', this.#onSignal)
    process.once('SIGTERM', this.#onSignal)
  }

  async tempDir(parent: string, prefix: string): Promise<string> {
    const dir = await mkdtemp(join(parent, prefix))
    this.#dirs.push(dir)
    return dir
  }

  /** Ends `child` (started elsewhere) with the rest at close(). */
  adopt(child: ChildProcess): void {
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
  }

  /** Runs a cloudsync command to completion; its stdout, trimmed. */
  async cli(args: string[], timeoutMs = 60_000): Promise<string> {
    const { stdout } = await run(process.execPath, [CLI, ...args], {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout.trim()
  }

  /** Starts a long-running cloudsync command; stderr goes to `log` (a file path) if given. */
  spawn(args: string[], options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}) {
    // BENCH_DAEMON_NODE_ARGS: extra Node/V8 flags for the sync daemons, to measure a flag
    // (say `--max-semi-space-size=8`) without changing the launcher.
    const daemonArgs = args[0] === 'sync' ? (process.env.BENCH_DAEMON_NODE_ARGS ?? '') : ''
    const nodeArgs = [...daemonArgs.split(' ').filter(Boolean), ...(options.nodeArgs ?? [])]
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-20_000)
    })
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    return {
      child,
      pid: child.pid!,
      exited,
      stdout: () => out,
      stderr: () => err,
    }
  }

  /** Starts the embedded coordinator on loopback; resolves with its URL. */
  async coordinator(dataDir: string) {
    // The embedded backends, whatever the caller's environment says.
    const env: NodeJS.ProcessEnv = { LOG_LEVEL: 'warn' }
    for (const name of Object.keys(process.env)) {
      if (/^(DATABASE_URL|REDIS_URL|S3_|HOST$|PORT$|DATA_DIR$)/.test(name)) env[name] = ''
    }
    // BENCH_CPU_PROF=DIR profiles the coordinator too (written when it exits).
    const profile = process.env.BENCH_CPU_PROF
    const proc = this.spawn(['coordinator', '--data-dir', dataDir, '--port', '0'], {
      env,
      nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [],
    })
    const url = await waitFor(
      'coordinator to listen',
      () => {
        if (proc.child.exitCode !== null)
          throw new Error(`coordinator exited: ${proc.stderr().slice(-2000)}`)
        return /listening on (http:\/\/\S+)/.exec(proc.stdout())?.[1]
      },
      { timeoutMs: 60_000, everyMs: 50 },
    )
    return { ...proc, url }
  }

  /** Ends every process (SIGTERM, then SIGKILL after 5 s) and removes every temp dir. */
  /** Runs a benchmark's body; a failure sets exit code 1, and everything is cleaned up either way. */
  async run(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body()
    } catch (err) {
      process.exitCode = 1
      process.stderr.write(`${name} failed: ${(err as Error).stack ?? err}\n`)
    } finally {
      await this.close()
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    process.removeListener('SIGINT', this.#onSignal)
    process.removeListener('SIGTERM', this.#onSignal)
    await Promise.all(
      [...this.#children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        child.kill('SIGTERM')
        const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)])
        if (!killed) {
          child.kill('SIGKILL')
          await Promise.race([exited, sleep(2_000)])
        }
      }),
    )
    for (const dir of this.#dirs.reverse())
      await rm(dir, { recursive: true, force: true }).catch(() => {})
  }
}

/** A device's status file, as `cloudsync sync` writes it every second. */
export async function readStatus(dir: string): Promise<DeviceStatus | undefined> {
  return readFile(join(dir, '.cloudsync', 'status.json'), 'utf8')
    .then((t) => JSON.parse(t) as DeviceStatus)
    .catch(() => undefined)
}

export interface DeviceStatus {
  pid: number
  connected: boolean
  devices: { name: string; online: boolean }[]
  sources: Record<string, { chunks: number; bytes: number; failures: number }>
  uploads: Record<string, number>
  /** Streaming sync: chunks prefetched from an uploading peer (when the daemon has it). */
  prefetch?: Record<string, number>
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}
