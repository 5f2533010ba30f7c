import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { DAEMON_TUNING, declareTuning } from '../../protocol/memory/process-tuning.ts'
import { HttpCoordinator } from '../adapters/http-coordinator.ts'
import type { DaemonStatus } from '../daemon/daemon.ts'
import { CRASH_FILE, type CrashRecord, STATUS_FILE } from '../daemon/status-file.ts'
import { loadLinked } from './link.ts'
import { statusJson, statusLines } from './status-view.ts'

export function registerSyncCommands(program: Command): void {
  declareTuning(program.command('sync'), DAEMON_TUNING)
    .description('run the sync daemon for a linked folder until interrupted')
    .option(
      '-d, --dir <path>',
      'the linked folder (default: the one holding the working directory)',
    )
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
        dir?: string
        listen: string[]
        mdns: boolean
        logLevel: string
        rescan: string
        coordinator?: string[]
      }) => {
        const { root, stateDir, state } = await loadLinked(opts.dir)
        // The daemon (libp2p and all) loads only for `sync`: the other commands stay light.
        const [{ default: pino }, { Daemon }, guard, { startWebPage }] = await Promise.all([
          import('pino'),
          import('../daemon/daemon.ts'),
          import('../daemon/process-guard.ts'),
          import('../web/server.ts'),
        ])
        const logger = pino({ level: opts.logLevel }, pino.destination(2))
        let daemon: Awaited<ReturnType<typeof Daemon.start>> | undefined
        const unguard = guard.guardProcess({
          stateDir,
          log: (message, fields) => logger.error(fields, message),
          onFault: (error) => daemon?.recordFault(error),
        })
        daemon = await Daemon.start({
          root,
          listen: opts.listen,
          mdns: opts.mdns,
          rescanIntervalMs: Number(opts.rescan) * 1000,
          coordinators: opts.coordinator ?? coordinatorsFromEnv(process.env),
          log: (level, message, fields) => logger[level](fields ?? {}, message),
        }).catch((err: unknown) => {
          guard.recordCrash(stateDir, `could not start: ${guard.describeError(err)}`)
          throw err
        })
        logger.info(
          { root, device: daemon.state.deviceId, addresses: daemon.status().addresses },
          'syncing',
        )
        const running = daemon
        const page = await startWebPage({
          stateDir,
          status: () => running.status(),
          controls: running.controls,
          recentChanges: recentChangesOf(state),
        })
        process.stdout.write(`syncing ${root} as ${daemon.state.name}; Ctrl-C to stop\n`)
        process.stdout.write(
          `web page: ${page.url}${daemon.controls.paused ? ' (paused: cloudsync resume)' : ''}\n`,
        )
        await new Promise<void>((done) => {
          for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done())
        })
        await page.close()
        await daemon.stop()
        unguard()
        logger.info('stopped')
      },
    )

  program
    .command('status')
    .description('sync state, paths that cannot be synced and why, the push channel, disk, crashes')
    .option(
      '-d, --dir <path>',
      'the linked folder (default: the one holding the working directory)',
    )
    .option('--json', 'print the status as JSON', false)
    .option('-v, --verbose', 'also list the paths the ignore rules keep out of sync', false)
    .action(async (opts: { dir?: string; json: boolean; verbose: boolean }) => {
      const { state, stateDir } = await loadLinked(opts.dir)
      const readJson = <T>(name: string) =>
        readFile(join(stateDir, name), 'utf8')
          .then((t) => JSON.parse(t) as T)
          .catch(() => undefined)
      const status = await readJson<DaemonStatus>(STATUS_FILE)
      const crash = await readJson<CrashRecord>(CRASH_FILE)
      const running =
        status !== undefined &&
        status.stoppedAt === undefined &&
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
      // The coordinator's log after our cursor: how far behind this device is, right now.
      const behind =
        status &&
        (await api.changes(status.cursor, { limit: BEHIND_LIMIT }).then(
          (page) => ({ changes: page.changes.length, more: page.hasMore }),
          () => undefined,
        ))
      if (opts.json) {
        process.stdout.write(`${statusJson({ running, status, crash, behind, devices })}\n`)
        return
      }
      const lines = statusLines({
        device: state,
        coordinatorUrl: state.coordinatorUrl,
        status,
        running,
        crash,
        devices,
        behind,
        now: Date.now(),
        verbose: opts.verbose,
      })
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}

/** Changes the web page lists. */
const RECENT_CHANGES = 20

/** The account's last changes up to a cursor, for the web page. */
function recentChangesOf(state: { coordinatorUrl: string; credential: string }) {
  const api = new HttpCoordinator({
    baseUrl: state.coordinatorUrl,
    credential: state.credential,
    timeoutMs: 5_000,
  })
  return async (cursor: number) => {
    const from = Math.max(0, cursor - RECENT_CHANGES)
    return (await api.changes(from, { limit: RECENT_CHANGES })).changes
  }
}

/** Changes counted one by one when telling how far behind; past it, "more than". */
const BEHIND_LIMIT = 100

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
