import prettyMilliseconds from 'pretty-ms'
import type { DaemonStatus } from '../daemon/daemon.ts'
import type { CrashRecord } from '../daemon/status-file.ts'
import type { InFlightFile } from '../engine/in-flight-files.ts'
import { formatRate } from '../limits/rate-text.ts'
import { bytes } from './output.ts'

/** Everything `cloudsync status` knows, gathered before anything is printed. */
export interface StatusInputs {
  device: { name: string; deviceId: string }
  coordinatorUrl: string
  /** The daemon's status file, if there is one. */
  status: DaemonStatus | undefined
  /** Whether the process that wrote it is alive and writing. */
  running: boolean
  crash: CrashRecord | undefined
  devices: { name: string; deviceId: string; online: boolean }[] | undefined
  /** Changes the coordinator holds after the status file's cursor (`more`: at least that). */
  behind: { changes: number; more: boolean } | undefined
  now: number
  /** `--verbose`: the ignored paths too. */
  verbose?: boolean
}

/** In-flight files listed one per line; the rest are counted. */
const IN_FLIGHT_LINES = 10

/** Per file in flight: which devices have it, and how much of the cloud copy is done. */
function inFlightLines(inputs: StatusInputs, status: DaemonStatus): string[] {
  const files = status.inFlight ?? []
  if (files.length === 0) return []
  const names = new Map((inputs.devices ?? []).map((d) => [d.deviceId, d.name]))
  names.set(inputs.device.deviceId, `${inputs.device.name} (this)`)
  const name = (id: string) => names.get(id) ?? id.slice(0, 8)
  const lines = [`in flight ${files.length} file(s):`]
  for (const f of files.slice(0, IN_FLIGHT_LINES)) {
    const on = `on ${f.holders.map(name).join(', ')}`
    const cloud =
      f.cloudBytes === undefined
        ? `cloud copy: ${name(f.uploader)} uploading (progress unknown here)`
        : `cloud copy ${bytes(f.cloudBytes)} of ${bytes(f.size)} (${f.size === 0 ? 100 : Math.floor((100 * f.cloudBytes) / f.size)}%), ${etaText(f)}`
    const how =
      f.state === 'placed' ? `placed ahead of its commit, from ${name(f.uploader)}` : 'uploading'
    lines.push(`  ${JSON.stringify(f.path)} ${bytes(f.size)}, ${how}; ${on}; ${cloud}`)
  }
  if (files.length > IN_FLIGHT_LINES) lines.push(`  ... and ${files.length - IN_FLIGHT_LINES} more`)
  return lines
}

/** The recent rate and time left, or `ETA unknown` until a rate is measured. */
function etaText(f: InFlightFile): string {
  if (f.cloudBytes !== undefined && f.cloudBytes >= f.size) return 'sent, completing'
  if (f.etaSeconds === undefined || f.cloudBytesPerSecond === undefined) return 'ETA unknown'
  const left = prettyMilliseconds(f.etaSeconds * 1000, { unitCount: 2, secondsDecimalDigits: 0 })
  return `${formatRate(f.cloudBytesPerSecond)}, ETA ${left}`
}

/** What `cloudsync status --json` prints: the status file as the daemon wrote it, and what was asked. */
export function statusJson(
  inputs: Pick<StatusInputs, 'running' | 'status' | 'crash' | 'behind' | 'devices'>,
): string {
  const { running, status, crash, behind, devices } = inputs
  return JSON.stringify({ running, status, crash, behind, devices })
}

/** Problems listed one per line; the rest are counted. */
const PROBLEM_LINES = 20

/** The lines `cloudsync status` prints: what works, and what does not and why. */
export function statusLines(inputs: StatusInputs): string[] {
  const { status, running, crash, device } = inputs
  const lines = [`device   ${device.name} (${device.deviceId})`, `daemon   ${daemonLine(inputs)}`]
  if (!running && crash && status && Date.parse(crash.at) >= Date.parse(status.startedAt))
    lines.push(...indent(crash.reason.split('\n').slice(0, 6)))
  const { devices } = inputs
  if (devices) {
    lines.push(
      `devices  ${devices.map((d) => `${d.name}${d.deviceId === device.deviceId ? ' (this)' : ''}: ${d.online ? 'online' : 'offline'}`).join(', ')}`,
    )
  } else lines.push(`devices  coordinator ${inputs.coordinatorUrl} unreachable`)
  if (!status) return lines
  lines.push(
    `sync     ${status.paused ? 'PAUSED (`cloudsync resume`); ' : ''}${syncLine(inputs, status)}`,
  )
  const limits = status.limits
  if (limits && Object.values(limits).some((rate) => rate > 0))
    lines.push(
      `limits   cloud up ${formatRate(limits.cloudUp)}, down ${formatRate(limits.cloudDown)}; LAN up ${formatRate(limits.lanUp)}, down ${formatRate(limits.lanDown)}`,
    )
  if (running) lines.push(`push     ${pushLine(status)}`)
  lines.push(
    `pending  ${status.pendingPaths} path(s) to check, ${status.pendingUploads} upload(s) in progress`,
  )
  lines.push(...inFlightLines(inputs, status))
  const problems = status.problems ?? []
  const count = status.problemCount ?? problems.length
  if (count === 0) lines.push('problems none')
  else {
    lines.push(`problems ${count} path(s) cannot be synced:`)
    for (const p of problems.slice(0, PROBLEM_LINES)) {
      const code = p.code ? ` [${p.code}]` : ''
      const tries = p.kind === 'unsyncable' ? '' : `, ${p.attempts} attempt(s)`
      lines.push(`  ${JSON.stringify(p.path)} (${KIND_LABELS[p.kind]}${tries}): ${p.reason}${code}`)
    }
    if (count > PROBLEM_LINES)
      lines.push(`  ... and ${count - PROBLEM_LINES} more (--json lists 200)`)
  }
  lines.push(...ignoredLines(status, inputs.verbose ?? false))
  if (status.disk) {
    const { freeBytes, totalBytes, fullPaths } = status.disk
    const full = fullPaths > 0 ? `; DISK FULL: ${fullPaths} path(s) could not be written` : ''
    lines.push(`disk     ${bytes(freeBytes)} free of ${bytes(totalBytes)}${full}`)
  }
  if (status.faults?.count) {
    const last = status.faults.last
    lines.push(
      `faults   ${status.faults.count} unexpected error(s), the daemon went on; last at ${last?.at}:`,
      ...indent((last?.error ?? '').split('\n').slice(0, 3)),
    )
  }
  lines.push(
    `sent     ${status.uploads.chunksSent ?? 0} chunk(s), ${bytes(status.uploads.bytesSent ?? 0)}`,
    ...Object.entries(status.sources).map(
      ([name, c]) =>
        `from ${(SOURCE_LABELS[name] ?? name).padEnd(22)} ${c.chunks} chunk(s), ${bytes(c.bytes)}${c.failures ? `, ${c.failures} failure(s)` : ''}`,
    ),
  )
  return lines
}

/** A rules file not in force always shows; the ignored paths with `--verbose`. */
function ignoredLines(status: DaemonStatus, verbose: boolean): string[] {
  const { count = 0, paths = [], rulesError } = status.ignored ?? {}
  const lines = rulesError ? [`rules    ${rulesError}`] : []
  if (!verbose) return lines
  lines.push(`ignored  ${count} path(s) kept out of sync by the ignore rules${count ? ':' : ''}`)
  for (const path of paths) lines.push(`  ${JSON.stringify(path)}`)
  if (count > paths.length) lines.push(`  ... and ${count - paths.length} more`)
  return lines
}

function daemonLine({ status, running, crash }: StatusInputs): string {
  if (running) return `running (pid ${status!.pid}) since ${status!.startedAt}`
  if (crash && (!status || Date.parse(crash.at) >= Date.parse(status.startedAt)))
    return `not running: it crashed at ${crash.at} (pid ${crash.pid}):`
  if (!status) return 'not running (never started here)'
  if (status.stoppedAt) return `not running (stopped at ${status.stoppedAt})`
  return `not running: it died without a word (killed?) after ${status.updatedAt}`
}

function syncLine({ running, behind }: StatusInputs, status: DaemonStatus): string {
  const at = `cursor ${status.cursor}`
  const known = running ? '' : ' when the daemon last wrote'
  if (behind) {
    if (behind.changes === 0) return `up to date (${at})`
    return `behind by ${behind.more ? 'more than ' : ''}${behind.changes} change(s) (${at}${known})`
  }
  // The coordinator could not be asked: what the daemon last saw of the log.
  const head = status.head?.seq
  if (head !== undefined && head > status.cursor)
    return `behind by at least ${head - status.cursor} change(s) (${at}; the coordinator is unreachable)`
  return `${at} (the coordinator is unreachable: up to date unknown)`
}

function pushLine(status: DaemonStatus): string {
  const push = status.push ?? { live: status.connected }
  if (push.live) return `live${push.since ? ` since ${push.since}` : ''}`
  return `down, polling${push.lastError ? ` (last error: ${push.lastError})` : ''}`
}

const indent = (lines: string[]) => lines.map((l) => `         ${l}`)

const KIND_LABELS = {
  unsyncable: 'not synced',
  failing: 'upload failing',
  skipped: 'remote change skipped',
} as const

/** The fetcher's source names, as `status` shows them. */
const SOURCE_LABELS: Record<string, string> = {
  local: 'this device',
  prefetch: 'peers, ahead of commit',
  swarm: 'peers',
  cloud: 'cloud',
}
