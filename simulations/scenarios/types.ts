/** What a scenario is, what one run of it gets, and the figures it gives back. */
import type { LabAccount, LabCoordinator } from '../lab/cloudsync.ts'
import type { Lab } from '../lab/lab.ts'
import type { LabSpec } from '../lab/spec.ts'

export type Mode = 'peer-assisted' | 'cloud-only'
export const MODES: Mode[] = ['peer-assisted', 'cloud-only']

/** Workload sizes; the full household is 1 GiB and 300 small files. */
export interface Workload {
  bigMib: number
  smallFiles: number
}

export interface DeviceResult {
  device: string
  /** Seconds from the save until the device's folder was identical; null: not within the run. */
  synced_s: number | null
  from_peers_mib: number
  from_cloud_mib: number
  /** Chunk fetches that failed and were tried again elsewhere (the fetcher's failures). */
  retries: number
}

export interface Check {
  name: string
  ok: boolean
  detail: string
}

export interface RunResult {
  scenario: string
  mode: Mode
  loss_pct: number
  seed: number
  workload: Workload
  /** Seconds from the save until the writer's status showed the cloud commit(s). */
  cloud_commit_s: number | null
  devices: DeviceResult[]
  /** Per-device progress: MiB of the expected files complete in its folder at t_s. */
  timeline: { t_s: number; device: string; mib: number }[]
  checks: Check[]
  error?: string
}

/** One run: a fresh account in the scenario's lab, links already at the run's loss and mode. */
export interface RunContext {
  lab: Lab
  coordinator: LabCoordinator
  account: LabAccount
  loss: number
  mode: Mode
  seed: number
  workload: Workload
  log: (line: string) => void
}

/** A run's figures; `part` names one of several sub-runs (faults has one per fault). */
export type RunFigures = Pick<RunResult, 'cloud_commit_s' | 'devices' | 'timeline' | 'checks'> & {
  part?: string
}

export interface Scenario {
  name: string
  /** The network; the runner sets every link's loss per run. */
  lab(): LabSpec
  /** Device hosts linked to each run's account, the first one by token. */
  devices: string[]
  run(ctx: RunContext): Promise<RunFigures[]>
}

/** A small seeded generator (mulberry32): the same seed, the same workload. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
