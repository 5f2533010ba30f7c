/**
 * A timeline of a file's way through the daemons, for the benchmarks that ask for one
 * (`bench:household --trace`): with CLOUDSYNC_TRACE_FILE set, each event is appended to
 * that file as a JSON line `{ at, pid, event, ...fields }` (`at` in ms since the epoch, one
 * clock for every process of the machine). Unset, which is always the case outside a
 * benchmark, nothing is done.
 */
import { appendFileSync } from 'node:fs'

const file = process.env.CLOUDSYNC_TRACE_FILE || undefined

export function trace(event: string, fields?: Record<string, string | number | boolean>): void {
  if (!file) return
  appendFileSync(
    file,
    `${JSON.stringify({ at: Date.now(), pid: process.pid, event, ...fields })}\n`,
  )
}
