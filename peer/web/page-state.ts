import { shownPath } from '../../protocol/paths.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { DaemonStatus } from '../daemon/status-file.ts'
import type { RateLimits } from '../limits/rate-text.ts'

/** What the web page shows, sent whole on every update (a few KiB). */
export interface PageState {
  device: { name: string; deviceId: string }
  /** "up to date", "syncing 3 files", "behind by 2 changes", "paused". */
  folder: { state: 'up-to-date' | 'syncing' | 'behind' | 'paused'; label: string }
  paused: boolean
  limits: RateLimits
  connected: boolean
  devices: { name: string; online: boolean; lan: boolean }[]
  /** Bytes moved since the daemon started; the page turns samples into rates. */
  bytes: { at: number; fromPeers: number; fromCloud: number; fromSelf: number; sent: number }
  problems: { path: string; kind: string; reason: string; code?: string }[]
  problemCount: number
  recent: { seq: number; kind: string; path: string; fromPath?: string; by: string; at: string }[]
}

const PEER_SOURCES = ['swarm', 'prefetch']

export function pageState(
  status: DaemonStatus,
  limits: RateLimits,
  recent: readonly Change[],
  now: number,
): PageState {
  const paused = status.paused === true
  const sources = status.sources
  const sum = (names: string[]) => names.reduce((n, name) => n + (sources[name]?.bytes ?? 0), 0)
  const names = new Map(status.devices.map((d) => [d.deviceId, d.name]))
  names.set(status.deviceId, `${status.name} (this device)`)
  return {
    device: { name: status.name, deviceId: status.deviceId },
    folder: folderState(status),
    paused,
    limits,
    connected: status.connected,
    devices: status.devices.map((d) => ({ name: d.name, online: d.online, lan: d.lan === true })),
    bytes: {
      at: now,
      fromPeers: sum(PEER_SOURCES),
      fromCloud: sum(['cloud']),
      fromSelf: sum(['local']),
      sent: status.uploads.bytesSent ?? 0,
    },
    problems: (status.problems ?? []).map((p) => ({
      path: shownPath(p.path),
      kind: p.kind,
      reason: p.reason,
      ...(p.code !== undefined && { code: p.code }),
    })),
    problemCount: status.problemCount ?? 0,
    recent: [...recent].reverse().map((c) => ({
      seq: c.seq,
      kind: c.conflictOf ? 'conflict copy' : c.kind,
      path: shownPath(c.path),
      ...(c.fromPath !== undefined && { fromPath: shownPath(c.fromPath) }),
      by: names.get(c.deviceId) ?? c.deviceId,
      at: c.committedAt,
    })),
  }
}

export function folderState(status: DaemonStatus): PageState['folder'] {
  if (status.paused) return { state: 'paused', label: 'paused' }
  const files = status.pendingPaths + status.pendingUploads
  if (files > 0)
    return { state: 'syncing', label: `syncing ${files} file${files === 1 ? '' : 's'}` }
  const behind = status.behind ?? 0
  if (behind > 0)
    return { state: 'behind', label: `behind by ${behind} change${behind === 1 ? '' : 's'}` }
  return { state: 'up-to-date', label: 'up to date' }
}
