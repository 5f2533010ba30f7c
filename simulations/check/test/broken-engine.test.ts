/**
 * The checks can fail: an engine that applies a remote change over a local edit not yet
 * uploaded (its applier shown the synced stat instead of the file's, and its writes
 * allowed to replace anything) must be caught within 1,000 seeds.
 */
import { expect, it } from 'vitest'
import type { FileStat, SyncEngineDeps, SyncFileSystem } from '../../../peer/index.ts'
import { runPlan } from '../run.ts'
import { planFor } from '../workload.ts'

/** While a pushed change is applied, the folder hides local edits from the engine. */
function applyOverLocalEdits(deps: SyncEngineDeps): void {
  const { fs, index, push } = deps
  let applying = 0
  const synced = (path: string): FileStat | undefined => index.getFile(path)?.stat
  const broken: SyncFileSystem = {
    ...fs,
    list: (options) => fs.list(options),
    stat: async (path) => {
      const real = await fs.stat(path)
      return applying > 0 && real ? (synced(path) ?? real) : real
    },
    createTemp: async (size) => {
      const temp = await fs.createTemp(size)
      return {
        ...temp,
        commit: (path, expected) => temp.commit(path, applying > 0 ? 'any' : expected),
      }
    },
    remove: (path, expected) => fs.remove(path, applying > 0 ? undefined : expected),
  }
  deps.fs = broken
  deps.push = {
    open: (cursor, onMessage, signal) =>
      push.open(
        cursor,
        async (message) => {
          applying++
          try {
            await onMessage(message)
          } finally {
            applying--
          }
        },
        signal,
      ),
  }
}

it('an engine that overwrites unsynced local edits is caught within 1,000 seeds', async () => {
  const options = { devices: 2, steps: 20, swaps: false }
  let caught: { seed: number; failures: string[] } | undefined
  for (let seed = 1; seed <= 1_000 && !caught; seed++) {
    const result = await runPlan(planFor(seed, options), { tamper: applyOverLocalEdits })
    if (result.failures.length > 0) caught = { seed, failures: result.failures }
  }
  console.log(`broken engine caught at seed ${caught?.seed}: ${caught?.failures[0]}`)
  expect(caught?.failures.join('\n')).toMatch(/write lost/)
  // The same history with the real engine keeps every invariant: the breakage was caught.
  expect((await runPlan(planFor(caught!.seed, options))).failures).toEqual([])
}, 600_000)
