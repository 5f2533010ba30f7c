import type { InFlightFile } from '../engine/in-flight-files.ts'
import type { ProblemKind } from '../engine/sync-problems.ts'
import type { RateLimits } from '../limits/rate-text.ts'

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

/** Problems written to the status file at most (their count is always there). */
export const STATUS_PROBLEMS_MAX = 200

/**
 * The status file (status-file.ts), read by `cloudsync status`. Fields only grow: an
 * older daemon's file lacks the newer ones, so readers treat them as optional.
 */
export interface DaemonStatus {
  pid: number
  deviceId: string
  name: string
  startedAt: string
  updatedAt: string
  /** Set by a clean stop; a file without it, from a process that is gone, means a crash. */
  stoppedAt?: string
  connected: boolean
  /** The push channel: live or not, since when, and why it last failed. */
  push?: { live: boolean; since?: string; lastError?: string }
  cursor: number
  /** The newest change the device knows the account's log holds, and when it learnt it. */
  head?: { seq: number; at: string }
  /** Changes the coordinator holds beyond `cursor`, as last seen (0: up to date). */
  behind?: number
  pendingPaths: number
  pendingUploads: number
  /** Files in flight: uploads with their cloud progress, versions placed ahead of commit. */
  inFlight?: InFlightFile[]
  /** Paths that cannot be synced now, and why (sync-problems.ts); the first 200. */
  problems?: StatusProblem[]
  problemCount?: number
  /**
   * Paths the ignore rules keep out of sync (the first IGNORED_LIST_MAX, sorted), and why
   * `.cloudsyncignore` is not in force when it cannot be used.
   */
  ignored?: { count: number; paths: string[]; rulesError?: string }
  /** The synced folder's file system, and how many paths failed for lack of space. */
  disk?: { freeBytes: number; totalBytes: number; fullPaths: number }
  /** Errors no task handled (the process guard kept the daemon alive). */
  faults?: { count: number; last?: { at: string; error: string } }
  /** Paused by the user (`cloudsync pause`, the web page). */
  paused?: boolean
  /** Rate limits in bytes per second, 0 unlimited. */
  limits?: RateLimits
  /** `lan`: a direct (libp2p) connection to it is open. */
  devices: { name: string; online: boolean; deviceId?: string; lan?: boolean }[]
  uploads: Record<string, number>
  local: Record<string, number>
  remote: Record<string, number>
  sources: Record<string, { chunks: number; bytes: number; failures: number }>
  prefetch: Record<string, number>
  addresses: string[]
}

export interface StatusProblem {
  path: string
  kind: ProblemKind
  reason: string
  code?: string
  since: string
  lastAt: string
  attempts: number
}
