/**
 * Runs a scenario's cells (loss x mode) in one lab with one coordinator: each cell gets a
 * fresh account and folders, links at the cell's loss on every link (WAN and LAN ports,
 * each direction) and the cell's mode (cloud-only: LAN hosts refuse each other's TCP, so
 * the swarm has no peer). A cell that fails is reported as failed; the others still run.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { LabAccount, LabCoordinator } from '../lab/cloudsync.ts'
import { Lab } from '../lab/lab.ts'
import type { Mode, RunResult, Scenario, Workload } from './types.ts'

export interface Cell {
  loss: number
  mode: Mode
}

export interface RunOptions {
  seed: number
  workload: Workload
  log: (line: string) => void
  /** Called after each cell with every result so far (the report is rewritten each time). */
  onCell?: (results: RunResult[]) => Promise<void>
}

export async function runScenario(
  scenario: Scenario,
  cells: Cell[],
  opts: RunOptions,
): Promise<RunResult[]> {
  const work = await mkdtemp(`/tmp/cloudsync-sim-${scenario.name}-`)
  const results: RunResult[] = []
  let lab: Lab | undefined
  try {
    lab = await Lab.create(scenario.lab())
    const coordinator = new LabCoordinator(lab, join(work, 'cloud'))
    await coordinator.start()
    for (const [i, cell] of cells.entries()) {
      const base = {
        scenario: scenario.name,
        mode: cell.mode,
        loss_pct: cell.loss,
        seed: opts.seed,
        workload: opts.workload,
      }
      opts.log(`${scenario.name}: ${cell.mode}, loss ${cell.loss}% (${i + 1}/${cells.length})`)
      const account = new LabAccount(lab, join(work, `run${i}`))
      try {
        setLoss(lab, 0)
        lab.setSwarmBlocked(cell.mode === 'cloud-only')
        if (!coordinator.running) await coordinator.start() // a fault may have stopped it
        await account.link(await coordinator.createAccount(), scenario.devices)
        setLoss(lab, cell.loss)
        const figures = await scenario.run({
          lab,
          coordinator,
          account,
          ...cell,
          seed: opts.seed,
          workload: opts.workload,
          log: opts.log,
        })
        for (const { part, ...f } of figures)
          results.push({
            ...base,
            ...f,
            scenario: part ? `${scenario.name}/${part}` : scenario.name,
          })
      } catch (err) {
        opts.log(`${scenario.name} failed: ${(err as Error).stack ?? err}`)
        results.push({
          ...base,
          cloud_commit_s: null,
          devices: [],
          timeline: [],
          checks: [],
          error: String((err as Error).message ?? err),
        })
      } finally {
        await account.stopAll()
        await rm(account.dir, { recursive: true, force: true })
      }
      await opts.onCell?.(results)
    }
  } finally {
    await lab?.close()
    await rm(work, { recursive: true, force: true })
  }
  return results
}

/** The same loss on every WAN link and every LAN port. */
function setLoss(lab: Lab, pct: number): void {
  for (const name of lab.links.keys()) lab.setLinkLoss(name, pct)
  lab.setLanLoss(pct)
}
