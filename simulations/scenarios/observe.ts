/**
 * Watches a sync from the outside: each device's folder (complete files under their names;
 * writes are atomic), the writer's status for the cloud commit, and a timeline of progress.
 * A device counts as synced when its folder holds exactly the expected files, hashes checked.
 */
import type { DeviceStatus, LabAccount } from '../lab/cloudsync.ts'
import { bytesPresent, sameTree } from '../lab/files.ts'
import type { DeviceResult, RunResult } from './types.ts'

const MiB = 1024 * 1024
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export interface Watch {
  account: LabAccount
  devices: string[]
  /** The folder every device must end with: path -> size, path -> SHA-256. */
  sizes: Map<string, number>
  hashes: Map<string, string>
  /** performance.now() of the save. */
  start: number
  /** Whose uploads commit, and how many commits past `commitsBefore` mean "in the cloud". */
  writer: string
  commitsBefore: number
  commits: number
  budgetMs: number
  /** Called every tick with the seconds since the save: faults act from here. */
  onTick?: (t: number) => Promise<void> | void
}

export interface Observed {
  synced: Map<string, number | null>
  commitS: number | null
  timeline: RunResult['timeline']
}

export async function observe(w: Watch): Promise<Observed> {
  const total = [...w.sizes.values()].reduce((a, b) => a + b, 0)
  const synced = new Map<string, number | null>(w.devices.map((d) => [d, null]))
  const last = new Map<string, number>()
  const timeline: RunResult['timeline'] = []
  let commitS: number | null = null
  const deadline = w.start + w.budgetMs
  while (performance.now() < deadline) {
    w.account.checkAlive()
    const t = (performance.now() - w.start) / 1000
    await w.onTick?.(t)
    for (const device of w.devices) {
      if (synced.get(device) !== null) continue
      const bytes = await bytesPresent(w.account.folder(device), w.sizes)
      if (bytes !== last.get(device)) {
        last.set(device, bytes)
        timeline.push({ t_s: round(t), device, mib: round(bytes / MiB) })
      }
      if (bytes === total && (await sameTree(w.account.folder(device), w.hashes)))
        synced.set(device, round(t))
    }
    if (commitS === null) {
      const commits = (await w.account.status(w.writer))?.uploads.commits ?? 0
      if (commits - w.commitsBefore >= w.commits) commitS = round(t)
    }
    if (commitS !== null && [...synced.values()].every((s) => s !== null)) break
    await sleep(250)
  }
  return { synced, commitS, timeline }
}

/**
 * Each device's figures from its status file after the run, less what `baseline` (statuses
 * from before the save) already counted, unless the daemon was restarted since.
 */
export async function deviceResults(
  account: LabAccount,
  observed: Observed,
  baseline = new Map<string, DeviceStatus>(),
): Promise<DeviceResult[]> {
  const out: DeviceResult[] = []
  // The status file is rewritten every second: read one written after the run ended, so the
  // last transfers are counted.
  const ended = Date.now()
  for (const [device, synced] of observed.synced) {
    const s = await freshStatus(account, device, ended)
    const base = baseline.get(device)
    const from = base && base.pid === s?.pid ? base.sources : {}
    const delta = (name: string, field: 'bytes' | 'failures') =>
      (s?.sources[name]?.[field] ?? 0) - (from[name]?.[field] ?? 0)
    const names = Object.keys(s?.sources ?? {})
    out.push({
      device,
      synced_s: synced,
      from_peers_mib: round((delta('swarm', 'bytes') + delta('prefetch', 'bytes')) / MiB),
      from_cloud_mib: round(delta('cloud', 'bytes') / MiB),
      retries: names.reduce((a, n) => a + delta(n, 'failures'), 0),
    })
  }
  return out
}

/** The device's status once written at or after `since` (at most 5 s of waiting; else the last one). */
async function freshStatus(
  account: LabAccount,
  device: string,
  since: number,
): Promise<DeviceStatus | undefined> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const s = await account.status(device)
    if ((s && Date.parse(s.updatedAt) >= since) || Date.now() > deadline) return s
    await sleep(200)
  }
}

export const round = (n: number) => Math.round(n * 100) / 100
