/**
 * household: three devices on one LAN, the cloud across a WAN of 50 Mbit/s down and 20 up,
 * one remote device on its own 20 Mbit/s link. The laptop saves a big file and many small
 * ones; every device's time to an identical folder, its bytes by source and retries, and
 * the time until the cloud commit.
 */
import type { LabSpec } from '../lab/spec.ts'
import { deviceResults, observe } from './observe.ts'
import type { RunContext, RunFigures, Scenario } from './types.ts'
import { stageWorkload } from './workload.ts'

/** Round trips of the WAN links, added by the lab's delay line. */
const HOME_RTT_MS = 30
const REMOTE_RTT_MS = 60

export const household: Scenario = {
  name: 'household',
  devices: ['laptop', 'desktop', 'server', 'phone'],
  lab: (): LabSpec => ({
    lans: [
      {
        name: 'home',
        hosts: ['laptop', 'desktop', 'server'],
        uplink: { downMbit: 50, upMbit: 20, rttMs: HOME_RTT_MS },
      },
    ],
    remotes: [{ name: 'phone', link: { downMbit: 20, upMbit: 20, rttMs: REMOTE_RTT_MS } }],
  }),
  async run(ctx: RunContext): Promise<RunFigures[]> {
    const { account, workload, seed, log } = ctx
    const devices = household.devices
    for (const d of devices) account.startDaemon(d)
    await account.waitConnected(devices, devices.length - 1)
    const staged = await stageWorkload(account, 'laptop', workload, seed)
    const commitsBefore = (await account.status('laptop'))?.uploads.commits ?? 0
    const bytes = [...staged.sizes.values()].reduce((a, b) => a + b, 0)
    // Three times the uplink's pace, plus room for starting up under load.
    const budgetMs = ((bytes * 8) / 20e6) * 3_000 + 240_000
    log(
      `household: ${staged.sizes.size} files, ${(bytes / 2 ** 20).toFixed(1)} MiB saved on laptop`,
    )
    const start = await staged.save()
    const observed = await observe({
      account,
      devices: devices.filter((d) => d !== 'laptop'),
      sizes: staged.sizes,
      hashes: staged.hashes,
      start,
      writer: 'laptop',
      commitsBefore,
      commits: staged.sizes.size,
      budgetMs,
    })
    const results = await deviceResults(account, observed)
    return [
      {
        cloud_commit_s: observed.commitS,
        devices: results,
        timeline: observed.timeline,
        checks: [
          {
            name: 'every device identical',
            ok: results.every((r) => r.synced_s !== null),
            detail: results.map((r) => `${r.device} ${r.synced_s ?? 'not synced'}`).join(', '),
          },
          {
            name: 'cloud commit',
            ok: observed.commitS !== null,
            detail: `${staged.sizes.size} commits ${observed.commitS === null ? 'not seen' : `by ${observed.commitS} s`}`,
          },
        ],
      },
    ]
  },
}
