/**
 * Private Redis and Postgres servers for fault tests: each on a free loopback port, in a
 * temporary directory, stopped and started by the test itself, so an outage never touches
 * the machine's shared services. Postgres runs from Debian's binaries
 * (/usr/lib/postgresql/N/bin) as the `postgres` user, since initdb refuses root.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export interface PrivateService {
  url: string
  /** Kills the server at once (SIGKILL for Redis, immediate shutdown for Postgres). */
  stop(): Promise<void>
  /** Starts it again on the same port and data; resolves once it answers. */
  start(): Promise<void>
  /** Stops it and removes its files. */
  destroy(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Whether both servers can be run here (the fault tests skip loudly otherwise). */
export function privateServicesAvailable(): boolean {
  const ok = postgresBin() !== undefined && hasCommand('redis-server')
  if (!ok) process.stderr.write('WARNING: redis-server or Postgres binaries missing\n')
  return ok
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0]
  const bin = version && join(root, version, 'bin')
  return bin && existsSync(join(bin, 'initdb')) ? bin : undefined
}

export async function startPrivateRedis(): Promise<PrivateService> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'cloudsync-redis-'))
  let child: ChildProcess | undefined
  const ping = async () => {
    const out = execFileSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' })
    return out.trim() === 'PONG'
  }
  const service: PrivateService = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '']
      child = spawn('redis-server', [...args, '--appendonly', 'no', '--dir', dir], {
        stdio: 'ignore',
      })
      await until('private Redis', ping)
    },
    async stop() {
      const c = child
      if (!c || c.exitCode !== null || c.signalCode !== null) return
      const exited = new Promise((resolve) => c.once('exit', resolve))
      c.kill('SIGKILL')
      await exited
    },
    async destroy() {
      await service.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
  await service.start()
  return service
}

export async function startPrivatePostgres(): Promise<PrivateService> {
  const bin = postgresBin()
  if (!bin) throw new Error('no Postgres binaries under /usr/lib/postgresql')
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'cloudsync-pg-'))
  const data = join(dir, 'data')
  const asPostgres = process.getuid?.() === 0
  await chmod(dir, 0o755)
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
    await chown(dir, uid, gid)
  }
  const run = (tool: string, args: string[]) =>
    execFileSync(
      asPostgres ? 'runuser' : join(bin, tool),
      asPostgres ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args,
      { stdio: 'ignore' },
    )
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const answers = async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
    try {
      await client.connect()
      await client.query('SELECT 1')
      return true
    } finally {
      await client.end().catch(() => {})
    }
  }
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  const service: PrivateService = {
    url,
    async start() {
      run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'])
      await until('private Postgres', answers)
    },
    async stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } catch {
        // Not running.
      }
    },
    async destroy() {
      await service.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
  await service.start()
  return service
}
