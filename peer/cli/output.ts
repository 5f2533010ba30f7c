import cliProgress from 'cli-progress'
import { type ErrorCode, isCloudsyncError } from '../../protocol/errors.ts'

/** Exit codes scripts can branch on. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notLinked: 3,
  unauthorized: 4,
  unreachable: 5,
  notFound: 6,
  conflict: 7,
} as const

const exitFor: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: EXIT.usage,
  INVALID_PATH: EXIT.usage,
  TOO_LARGE: EXIT.usage,
  UNAUTHENTICATED: EXIT.unauthorized,
  FORBIDDEN: EXIT.unauthorized,
  GONE: EXIT.unauthorized,
  UNAVAILABLE: EXIT.unreachable,
  BUSY: EXIT.unreachable,
  NOT_FOUND: EXIT.notFound,
  CONFLICT: EXIT.conflict,
  STALE_BASE: EXIT.conflict,
}

/** A failure a person can act on, with an exit code a script can branch on. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message)
    this.exitCode = exitCode
  }
}

/** Prints the error for a person and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`cloudsync: ${err.message}\n`)
    return err.exitCode
  }
  if (isCloudsyncError(err)) {
    const hint = err.code === 'UNAVAILABLE' ? ' (is the coordinator running and reachable?)' : ''
    process.stderr.write(`cloudsync: ${err.message}${hint}\n`)
    return exitFor[err.code] ?? EXIT.failure
  }
  process.stderr.write(`cloudsync: ${(err as Error)?.stack ?? String(err)}\n`)
  return EXIT.failure
}

export interface Progress {
  add(bytes: number): void
  stop(): void
}

/**
 * A bytes/rate/ETA bar on a terminal; nothing at all when stderr is not one (scripts,
 * logs), so output stays parseable.
 */
export function progress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total === 0) return { add() {}, stop() {} }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done}/{size} | {speed} | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = Date.now()
  let done = 0
  const fields = () => ({
    done: bytes(done),
    size: bytes(total),
    speed: `${bytes(done / Math.max(0.001, (Date.now() - started) / 1000))}/s`,
  })
  bar.start(total, 0, fields())
  return {
    add(n) {
      done += n
      bar.update(Math.min(done, total), fields())
    },
    stop: () => bar.stop(),
  }
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}
