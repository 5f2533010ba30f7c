/**
 * A run's plan: the devices, the network's fault rates and a list of steps, all drawn
 * from the seed up front. A step names its target loosely (`pick` chooses among the files
 * that exist when it runs), so a plan with steps removed still runs: that is what lets a
 * failing history be shrunk.
 */
import type { NetworkFaults } from './network.ts'
import { NO_FAULTS } from './network.ts'
import { Rng } from './rng.ts'

export type Op =
  /** Creates or overwrites a whole file. */
  | { kind: 'write'; device: number; path: string; size: number }
  | { kind: 'append'; device: number; pick: number; size: number }
  /** Overwrites a range in the middle of a file, in place. */
  | { kind: 'edit'; device: number; pick: number; at: number; size: number }
  | { kind: 'delete'; device: number; pick: number }
  | { kind: 'rename'; device: number; pick: number; to: string }
  /** Changes only the case of the name's first letter. */
  | { kind: 'rename-case'; device: number; pick: number }
  | { kind: 'rename-folder'; device: number; pick: number; to: string }
  /** The file goes and a folder of the same name, with a file in it, takes its place. */
  | { kind: 'file-to-folder'; device: number; pick: number; size: number }
  /** The folder of a file goes, every file in it, and a file of the folder's name takes its place. */
  | { kind: 'folder-to-file'; device: number; pick: number; size: number }
  | { kind: 'crash'; device: number }
  | { kind: 'restart'; device: number }
  | { kind: 'isolate'; device: number }
  | { kind: 'heal'; device: number }
  | { kind: 'crash-coordinator' }
  | { kind: 'restart-coordinator' }
  | { kind: 'gc' }

export interface Step {
  /** Virtual milliseconds to let pass before the step. */
  wait: number
  op: Op
}

export interface Plan {
  seed: number
  devices: number
  faults: NetworkFaults
  steps: Step[]
}

/** A small namespace, so devices collide on the same paths often. */
const NAMES = ['a.txt', 'b.txt', 'B.txt', 'notes.md', 'q', 'd/x', 'd/y.txt', 'd/e/z', 'big.bin']
const FOLDERS = ['d', 'D', 'moved', 'd/e']

export interface PlanOptions {
  devices: number
  steps: number
  /** Crashes, partitions and a lossy network; off for the plain loop. */
  faults?: boolean
  /**
   * Files replaced by folders of the same name (on by default). Off, those steps delete
   * the file instead: the plans that older seeds of regressions.test.ts name.
   */
  swaps?: boolean
  /**
   * Folders replaced by files of the same name: half the file-to-folder steps become
   * folder-to-file ones (off by default). The choice comes from a stream of its own, so
   * without this option every plan stays the one its seed always named.
   */
  folderSwaps?: boolean
}

export function planFor(seed: number, options: PlanOptions): Plan {
  const rng = new Rng(seed)
  const flips = new Rng(seed ^ 0x5f0f5f0f)
  const faults = options.faults === false ? NO_FAULTS : faultsFor(rng)
  const steps: Step[] = []
  for (let i = 0; i < options.steps; i++) {
    const wait = waitFor(rng)
    let op = opFor(rng, options.devices, options.faults !== false)
    if (op.kind === 'file-to-folder') {
      if (options.swaps === false) op = { kind: 'delete', device: op.device, pick: op.pick }
      else if (options.folderSwaps && flips.next() < 0.5) op = { ...op, kind: 'folder-to-file' }
    }
    steps.push({ wait, op })
  }
  return { seed, devices: options.devices, faults, steps }
}

function faultsFor(rng: Rng): NetworkFaults {
  const profile = rng.int(0, 3)
  if (profile === 0) return NO_FAULTS
  if (profile === 1) return { loss: 0.02, duplicate: 0.02, slow: 0.05, pushBreak: 0.01 }
  if (profile === 2) return { loss: 0.08, duplicate: 0.05, slow: 0.15, pushBreak: 0.05 }
  return { loss: 0, duplicate: 0.1, slow: 0.3, pushBreak: 0 }
}

function waitFor(rng: Rng): number {
  const r = rng.next()
  if (r < 0.4) return rng.int(0, 50)
  if (r < 0.8) return rng.int(50, 1_000)
  return rng.int(1_000, 8_000)
}

function size(rng: Rng): number {
  const r = rng.next()
  if (r < 0.1) return 0
  if (r < 0.8) return rng.int(1, 300)
  return rng.int(3_000, 20_000)
}

function opFor(rng: Rng, devices: number, faults: boolean): Op {
  const device = rng.int(0, devices - 1)
  const pick = rng.next()
  const r = rng.next()
  if (faults && r < 0.16) {
    const f = rng.next()
    if (f < 0.2) return { kind: 'crash', device }
    if (f < 0.45) return { kind: 'restart', device }
    if (f < 0.6) return { kind: 'isolate', device }
    if (f < 0.8) return { kind: 'heal', device }
    if (f < 0.85) return { kind: 'crash-coordinator' }
    if (f < 0.93) return { kind: 'restart-coordinator' }
    return { kind: 'gc' }
  }
  const u = rng.next()
  if (u < 0.35) return { kind: 'write', device, path: rng.pick(NAMES), size: size(rng) }
  if (u < 0.45) return { kind: 'append', device, pick, size: rng.int(1, 500) }
  if (u < 0.55) return { kind: 'edit', device, pick, at: rng.next(), size: rng.int(1, 200) }
  if (u < 0.7) return { kind: 'delete', device, pick }
  if (u < 0.82) return { kind: 'rename', device, pick, to: rng.pick(NAMES) }
  if (u < 0.88) return { kind: 'rename-case', device, pick }
  if (u < 0.94) return { kind: 'rename-folder', device, pick, to: rng.pick(FOLDERS) }
  return { kind: 'file-to-folder', device, pick, size: size(rng) }
}

/** One line per step, for traces and shrunk reports. */
export function describeOp(op: Op): string {
  const { kind, ...rest } = op
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`)
    .join(' ')
  return `${kind} ${fields}`.trim()
}
