import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CRASH_FILE, type CrashRecord } from './status-file.ts'

export interface ProcessGuardOptions {
  stateDir: string
  /** Where the daemon logs: every fault is logged at error level. */
  log: (message: string, fields: object) => void
  /** Told of each unhandled rejection, to count and show in `status`. */
  onFault: (error: unknown) => void
}

/** The reason an error gives a person: its stack when it has one. */
export function describeError(error: unknown): string {
  return (error as Error)?.stack ?? String(error)
}

/**
 * Writes why the daemon is dying where `status` reads it. Synchronous: it runs from
 * process handlers, where nothing asynchronous is sure to finish.
 */
export function recordCrash(stateDir: string, reason: string): void {
  const record: CrashRecord = { at: new Date().toISOString(), pid: process.pid, reason }
  try {
    writeFileSync(join(stateDir, CRASH_FILE), JSON.stringify(record, null, 2))
  } catch {
    // The disk may be what failed: the log still has it.
  }
}

/**
 * The daemon's last line of defence. An unhandled rejection is a bug somewhere in one
 * task: it is logged and counted (status shows it), and the daemon goes on, where Node's
 * default would kill it. An uncaught exception may have left any state half-changed, so
 * the process records why and exits non-zero. Returns the function that removes both.
 */
export function guardProcess(options: ProcessGuardOptions): () => void {
  const onRejection = (reason: unknown) => {
    options.log('unhandled rejection; the daemon goes on', { error: describeError(reason) })
    options.onFault(reason)
  }
  const onException = (error: unknown) => {
    const reason = describeError(error)
    options.log('uncaught exception; the daemon stops', { error: reason })
    recordCrash(options.stateDir, `uncaught exception: ${reason}`)
    process.exit(1)
  }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return () => {
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
  }
}
