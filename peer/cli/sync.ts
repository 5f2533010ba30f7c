import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { HttpCoordinator } from '../adapters/http-coordinator.ts'
import type { DaemonStatus } from '../daemon/daemon.ts'
import { STATUS_FILE } from '../daemon/status-file.ts'
import { loadLinked } from './link.ts'
import { bytes } from './output.ts'

export function registerSyncCommands(program: Command): void {
  program
    .command('sync')
    .description('run the sync daemon for a linked folder until interrupted')
    .option('-d, --dir <path>', 'the linked folder', '.')
    .option('-l, --listen <multiaddr...>', 'swarm listen addresses', ['/ip4/0.0.0.0/tcp/0'])
    .option('--mdns', 'discover LAN peers by multicast DNS', false)
    .option('--log-level <level>', 'fatal, error, warn, info or debug', 'info')
    .option('--rescan <seconds>', 'full rescan interval', '60')
    .option(
      '-c, --coordinator <url...>',
      'coordinator instances to use, home first (default: the linked one; also CLOUDSYNC_COORDINATORS, comma-separated)',
    )
    .action(
      async (opts: {
        dir: string
        listen: string[]
        mdns: boolean
        logLevel: string
        rescan: string
        coordinator?: string[]
      }) => {
        const root = resolve(opts.dir)
        await loadLinked(root)
        // The daemon (libp2p and all) loads only for `sync`: the other commands stay light.
        const [{ default: pino }, { Daemon }] = await Promise.all([
          import('pino'),
          import('../daemon/daemon.ts'),
        ])
        const logger = pino({ level: opts.logLevel }, pino.destination(2))
        const daemon = await Daemon.start({
          root,
          listen: opts.listen,
          mdns: opts.mdns,
          rescanIntervalMs: Number(opts.rescan) * 1000,
          coordinators: opts.coordinator ?? coordinatorsFromEnv(process.env),
          log: (level, message, fields) => logger[level](fields ?? {}, message),
        })
        logger.info(
          { root, device: daemon.state.deviceId, addresses: daemon.status().addresses },
          'syncing',
        )
        process.stdout.write(`syncing ${root} as ${daemon.state.name}; Ctrl-C to stop\n`)
        await new Promise<void>((done) => {
          for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done())
        })
        await daemon.stop()
        logger.info('stopped')
      },
    )

  program
    .command('status')
    .description('devices online, pending work, bytes from peers and cloud, last cursor')
    .option('-d, --dir <path>', 'the linked folder', '.')
    .option('--json', 'print the status as JSON', false)
    .action(async (opts: { dir: string; json: boolean }) => {
      const { state, stateDir } = await loadLinked(opts.dir)
      const status = await readFile(join(stateDir, STATUS_FILE), 'utf8')
        .then((t) => JSON.parse(t) as DaemonStatus)
        .catch(() => undefined)
      const running =
        status !== undefined &&
        isAlive(status.pid) &&
        Date.now() - Date.parse(status.updatedAt) < 10_000
      const api = new HttpCoordinator({
        baseUrl: state.coordinatorUrl,
        credential: state.credential,
        timeoutMs: 5_000,
      })
      const devices = await api.devices().then(
        (d) => d.devices,
        () => undefined,
      )
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ running, status, devices })}\n`)
        return
      }
      const lines = [
        `device   ${state.name} (${state.deviceId})`,
        `daemon   ${running ? `running (pid ${status!.pid})` : 'not running'}`,
      ]
      if (devices) {
        lines.push(
          `devices  ${devices.map((d) => `${d.name}${d.deviceId === state.deviceId ? ' (this)' : ''}: ${d.online ? 'online' : 'offline'}`).join(', ')}`,
        )
      } else lines.push(`devices  coordinator ${state.coordinatorUrl} unreachable`)
      if (status) {
        lines.push(
          `cursor   ${status.cursor}${status.connected ? ' (live)' : ''}`,
          `pending  ${status.pendingPaths} path(s) to check, ${status.pendingUploads} upload(s) in progress`,
          `sent     ${status.uploads.chunksSent ?? 0} chunk(s), ${bytes(status.uploads.bytesSent ?? 0)}`,
          ...Object.entries(status.sources).map(
            ([name, c]) =>
              `from ${(SOURCE_LABELS[name] ?? name).padEnd(22)} ${c.chunks} chunk(s), ${bytes(c.bytes)}${c.failures ? `, ${c.failures} failure(s)` : ''}`,
          ),
        )
      }
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}

/** The fetcher's source names, as `status` shows them. */
const SOURCE_LABELS: Record<string, string> = {
  local: 'this device',
  prefetch: 'peers, ahead of commit',
  swarm: 'peers',
  cloud: 'cloud',
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** `CLOUDSYNC_COORDINATORS=http://a:8080,http://b:8080`: the instances, home first. */
export function coordinatorsFromEnv(env: Record<string, string | undefined>): string[] {
  return (env.CLOUDSYNC_COORDINATORS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
}
