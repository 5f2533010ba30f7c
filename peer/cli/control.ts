import type { Command } from 'commander'
import { type DeviceSettings, loadSettings, saveSettings } from '../daemon/settings.ts'
import { formatRate, LIMIT_NAMES, parseRate, type RateLimits } from '../limits/rate-text.ts'
import { loadWebAddress, type WebAddress, webUrl } from '../web/web-file.ts'
import { loadLinked } from './link.ts'
import { CliError, EXIT } from './output.ts'

const DIR_OPTION = [
  '-d, --dir <path>',
  'the linked folder (default: the one holding the working directory)',
] as const

/**
 * pause, resume, limits, open: a running daemon is told through its web page's API (the
 * token in web.json) and saves the change itself; a stopped one finds it in settings.json
 * when it starts.
 */
export function registerControlCommands(program: Command): void {
  program
    .command('pause')
    .description('pause syncing on this device: nothing moves; local changes are queued')
    .option(...DIR_OPTION)
    .action((opts: { dir?: string }) => setPaused(opts.dir, true))

  program
    .command('resume')
    .description('resume syncing on this device')
    .option(...DIR_OPTION)
    .action((opts: { dir?: string }) => setPaused(opts.dir, false))

  program
    .command('limits')
    .description('show or set the rate limits (e.g. 5M, 500k; 0 = unlimited), kept across restarts')
    .option(...DIR_OPTION)
    .option('--cloud-up <rate>', 'upload rate to the cloud')
    .option('--cloud-down <rate>', 'download rate from the cloud')
    .option('--lan-up <rate>', 'rate at which chunks are served to LAN peers')
    .option('--lan-down <rate>', 'download rate from LAN peers')
    .action(async (opts: { dir?: string } & Partial<Record<keyof RateLimits, string>>) => {
      // Every rate is checked before anything changes.
      const limits: Partial<RateLimits> = {}
      for (const name of LIMIT_NAMES) {
        const text = opts[name]
        if (text === undefined) continue
        try {
          limits[name] = parseRate(text)
        } catch (err) {
          throw new CliError((err as Error).message, EXIT.usage)
        }
      }
      const set = Object.keys(limits).length > 0
      const settings = await change(
        opts.dir,
        set ? { path: '/api/limits', body: limits } : undefined,
        (s) => ({
          ...s,
          limits: { ...s.limits, ...limits },
        }),
      )
      for (const name of LIMIT_NAMES)
        process.stdout.write(`${LABELS[name].padEnd(15)} ${formatRate(settings.limits[name])}\n`)
    })

  program
    .command('open')
    .description("print the address of this device's web page (served by `cloudsync sync`)")
    .option(...DIR_OPTION)
    .action(async (opts: { dir?: string }) => {
      const { stateDir } = await loadLinked(opts.dir)
      const address = await loadWebAddress(stateDir)
      if (!address)
        throw new CliError('No web page here yet: start `cloudsync sync` first', EXIT.notFound)
      process.stdout.write(`${webUrl(address)}\n`)
    })
}

const LABELS: Record<keyof RateLimits, string> = {
  cloudUp: 'cloud upload',
  cloudDown: 'cloud download',
  lanUp: 'LAN upload',
  lanDown: 'LAN download',
}

async function setPaused(dir: string | undefined, paused: boolean): Promise<void> {
  const path = paused ? '/api/pause' : '/api/resume'
  await change(dir, { path }, (s) => ({ ...s, paused }))
  process.stdout.write(`${paused ? 'paused' : 'resumed'}\n`)
}

/**
 * Applies a change through the running daemon, or to settings.json when none answers;
 * answers the settings in force. Without a request, only reads them.
 */
async function change(
  dir: string | undefined,
  request: { path: string; body?: unknown } | undefined,
  apply: (settings: DeviceSettings) => DeviceSettings,
): Promise<DeviceSettings> {
  const { stateDir } = await loadLinked(dir)
  const address = await loadWebAddress(stateDir)
  const answer = address && (await askDaemon(address, request ?? { path: '/api/state' }))
  if (answer) return answer
  const settings = await loadSettings(stateDir)
  if (!request) return settings
  const changed = apply(settings)
  await saveSettings(stateDir, changed)
  process.stderr.write('the daemon is not running: saved for its next start\n')
  return changed
}

/** The daemon's answer, or undefined when nothing listens there (it is not running). */
async function askDaemon(
  address: WebAddress,
  request: { path: string; body?: unknown },
): Promise<DeviceSettings | undefined> {
  const url = `http://127.0.0.1:${address.port}${request.path}?token=${address.token}`
  let res: Response
  try {
    res = await fetch(url, {
      method: request.path === '/api/state' ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(request.path !== '/api/state' && { body: JSON.stringify(request.body ?? {}) }),
      signal: AbortSignal.timeout(10_000),
    })
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code
    if (code === 'ECONNREFUSED') return undefined
    throw new CliError(`the daemon did not answer: ${(err as Error).message}`, EXIT.failure)
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string } & Partial<DeviceSettings>
  if (!res.ok) throw new CliError(`the daemon refused: ${body.error ?? res.status}`, EXIT.failure)
  return { paused: body.paused === true, limits: body.limits as RateLimits }
}
