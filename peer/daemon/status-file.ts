/** The daemon's status file in the state dir, rewritten every second; `status` reads it. */
export const STATUS_FILE = 'status.json'
/** Why the daemon last died, written as it dies; `status` shows it. */
export const CRASH_FILE = 'crash.json'

/** What the daemon writes to CRASH_FILE. */
export interface CrashRecord {
  at: string
  pid: number
  reason: string
}
