/**
 * Every bug the simulator found, as the seed that found it: each run must now pass. A
 * seed names a plan of workload.ts as it is; if the generator changes, find the seeds
 * again (`sim:check` with the options below, on the code before the fix).
 */
import { describe, expect, it } from 'vitest'
import { runPlan } from '../run.ts'
import { type PlanOptions, planFor } from '../workload.ts'

interface Regression {
  seed: number
  options: PlanOptions
  bug: string
}

const regressions: Regression[] = [
  {
    seed: 1,
    options: { devices: 2, steps: 30, faults: false },
    bug: 'a moved change carried no chunks, so a device whose source was gone could not write it and stopped at that cursor for good ("Manifest hash does not match its chunks"); and then a rename matched a stale vanished path (one a remote move had taken away), and the real source was deleted on the server after the grace: the renamed file was lost',
  },
  {
    seed: 1,
    options: { devices: 2, steps: 20, swaps: false },
    bug: "an upload whose commit answer was lost was uploaded again based on no version: the device's own committed write became a conflict copy",
  },
  {
    seed: 3,
    options: { devices: 2, steps: 20, swaps: false },
    bug: 'a file deleted while its first upload ran left the upload checkpoint behind for good',
  },
  {
    seed: 114,
    options: { devices: 3, steps: 20, swaps: false },
    bug: "an edit of a file that had since moved away, uploaded to its old path where another file now lived, replaced that file without a conflict copy: the coordinator took the base version for the new file's (uploads now name their base file)",
  },
  {
    seed: 138,
    options: { devices: 3, steps: 20, swaps: false },
    bug: 'a move whose target was taken by a local new file left the moved file at its old path on that device for good',
  },
  {
    seed: 223,
    options: { devices: 3, steps: 20, swaps: false },
    bug: 'an upload cut short by its file being deleted, whose delete then lost to a newer remote version, left its checkpoint for good (no rescan looked at it again)',
  },
  {
    seed: 218,
    options: { devices: 3, steps: 20, swaps: false },
    bug: 'an unfinished upload of a file that a remote version then replaced left its checkpoint for good',
  },
  {
    seed: 121,
    options: { devices: 3, steps: 20, swaps: false },
    bug: 'a remote version skipped for a local edit not yet uploaded never came back once that local file was deleted before its upload',
  },
  {
    seed: 2,
    options: { devices: 2, steps: 20 },
    bug: 'a file replaced by a folder of the same name stopped the other device at that cursor for good (issue 14 item 2)',
  },
  {
    seed: 3,
    options: { devices: 3, steps: 20 },
    bug: "a file replaced by a folder of the same name on one device while another edited the file: the coordinator refused the folder's file (PATH_CLASH, a file is at its parent), the remote file could not be written where the local folder stood, and the devices settled apart for good with the folder's file on no other device (the local folder now moves aside to a conflict-copy name)",
  },
  {
    seed: 74,
    options: { devices: 3, steps: 20 },
    bug: "a remote edit that arrived while the device's user deleted the file was taken for a local edit and not written; the delete then lost to the edit (STALE_BASE) and the log, already past the edit, never brought it back: that device lacked the file for good",
  },
  {
    seed: 356,
    options: { devices: 3, steps: 20 },
    bug: 'a device whose commit answer was lost took a snapshot, then heard its own file deleted by another device while its upload was unsettled: the deletion was taken as already synced, and the device kept the file for good (the deletion now waits for the upload to settle)',
  },
  {
    seed: 636,
    options: { devices: 3, steps: 20 },
    bug: 'concurrent case-only renames of one file (a.txt -> A.txt on two devices) and an edit made a conflict copy with no concurrent write: a move not sent yet, then an edit, went up as a new file; the same move heard from the log left the local file unindexed; a move refused as stale was uploaded as a new file; the vanished source was deleted while its move waited (a moved file is now also found by its inode, the same move from the log adopts the local file, a stale move waits for the log)',
  },
  {
    seed: 498976440,
    options: { devices: 3, steps: 20 },
    bug: 'a device wrote its own file where a remote move put another, then renamed it away before its upload: the remote version, held back for the local file, was never written there (it is now skipped and applied once that path is empty)',
  },
  {
    seed: 700139,
    options: { devices: 3, steps: 20 },
    bug: "the checker's, not the engine's: a conflict copy of one empty file was taken for the empty file the displacing device had seen (another device's), and called spurious; empty files are alike, so the check now passes them over",
  },
  {
    seed: 800245,
    options: { devices: 3, steps: 20 },
    bug: "a device that started from a snapshot held a file at its old path, moved and then edited elsewhere: the snapshot's move carried the newer version, the applier renamed the old content and recorded it as that version, and the device kept the old content for good (a move now renames only the version it holds)",
  },
]

describe('simulator regressions', () => {
  for (const r of regressions) {
    it(`seed ${r.seed} (${JSON.stringify(r.options)}): ${r.bug}`, async () => {
      const result = await runPlan(planFor(r.seed, r.options))
      expect(result.failures).toEqual([])
    }, 120_000)
  }
})
