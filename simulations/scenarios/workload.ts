/**
 * A writer's workload: one big file and many small ones, written aside in the device's state
 * dir (the watcher ignores it) and moved into the folder at once, so the save has one instant.
 */
import { mkdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { LabAccount } from '../lab/cloudsync.ts'
import { sha256File, writeRandom } from '../lab/files.ts'
import { seeded, type Workload } from './types.ts'

const KiB = 1024
const MiB = 1024 * KiB

export interface Staged {
  /** path -> size and path -> SHA-256 of every file the save adds. */
  sizes: Map<string, number>
  hashes: Map<string, string>
  /** Moves the staged files into the folder; returns the instant (performance.now()). */
  save(): Promise<number>
}

/** Stages `workload` for `device`: big.bin, and small/NNN.bin of 1-64 KiB, sizes by seed. */
export async function stageWorkload(
  account: LabAccount,
  device: string,
  workload: Workload,
  seed: number,
  prefix = '',
): Promise<Staged> {
  const rng = seeded(seed)
  const stage = join(account.folder(device), '.cloudsync', `stage-${seed}-${prefix || 'w'}`)
  const sizes = new Map<string, number>()
  const hashes = new Map<string, string>()
  const small = `${prefix}small`
  await mkdir(join(stage, small), { recursive: true })
  for (let i = 0; i < workload.smallFiles; i++) {
    const name = `${small}/${String(i).padStart(3, '0')}.bin`
    const size = KiB + Math.floor(rng() * 63 * KiB)
    await writeRandom(join(stage, name), size)
    sizes.set(name, size)
  }
  const big = `${prefix}big.bin`
  if (workload.bigMib > 0) {
    await writeRandom(join(stage, big), workload.bigMib * MiB)
    sizes.set(big, workload.bigMib * MiB)
  }
  for (const name of sizes.keys()) hashes.set(name, await sha256File(join(stage, name)))
  return {
    sizes,
    hashes,
    save: async () => {
      const at = performance.now()
      if (workload.smallFiles > 0)
        await rename(join(stage, small), join(account.folder(device), small))
      if (workload.bigMib > 0) await rename(join(stage, big), join(account.folder(device), big))
      return at
    },
  }
}
