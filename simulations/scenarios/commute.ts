/**
 * commute: the desktop saves files; mid-sync the laptop leaves the LAN (its port goes down),
 * writes files while offline, and comes back on a remote link (80 ms round trip, 20/10
 * Mbit/s, the run's loss). Both must end with everything: the desktop's save and the
 * laptop's offline edits.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LabSpec } from '../lab/spec.ts'
import { deviceResults, observe, round } from './observe.ts'
import { type RunContext, type RunFigures, type Scenario, seeded } from './types.ts'
import { stageWorkload } from './workload.ts'

const OFFLINE_FILES = 5
/** Seconds the laptop stays off every network before it roams. */
const OFFLINE_S = 10

export const commute: Scenario = {
  name: 'commute',
  devices: ['desktop', 'laptop'],
  lab: (): LabSpec => ({
    lans: [
      {
        name: 'home',
        hosts: ['desktop', 'laptop'],
        uplink: { downMbit: 50, upMbit: 20, rttMs: 30 },
      },
    ],
    roaming: [{ host: 'laptop', link: { downMbit: 20, upMbit: 10, rttMs: 80 } }],
  }),
  async run(ctx: RunContext): Promise<RunFigures[]> {
    const { account, lab, workload, seed, log } = ctx
    // A cell before this one in the same lab may have left the laptop roaming.
    await lab.rejoinLan('laptop')
    for (const d of commute.devices) account.startDaemon(d)
    await account.waitConnected(commute.devices, 1)
    const staged = await stageWorkload(account, 'desktop', workload, seed)
    // The laptop's offline edits, made now so the expected folder is known from the start.
    const rng = seeded(seed + 1)
    const offline = new Map<string, Buffer>()
    for (let i = 0; i < OFFLINE_FILES; i++)
      offline.set(`offline/${i}.bin`, randomBytes(4096 + Math.floor(rng() * 60 * 1024)))
    const sizes = new Map(staged.sizes)
    const hashes = new Map(staged.hashes)
    for (const [path, bytes] of offline) {
      sizes.set(path, bytes.length)
      hashes.set(path, createHash('sha256').update(bytes).digest('hex'))
    }
    const total = [...staged.sizes.values()].reduce((a, b) => a + b, 0)
    const commitsBefore = (await account.status('desktop'))?.uploads.commits ?? 0
    let leftAt: number | undefined
    let roamedAt: number | undefined
    let receivedAtLeave = 0
    const start = await staged.save()
    const observed = await observe({
      account,
      devices: commute.devices,
      sizes,
      hashes,
      start,
      writer: 'desktop',
      commitsBefore,
      commits: staged.sizes.size,
      budgetMs: ((total * 8) / 10e6) * 3_000 + 300_000,
      onTick: async (t) => {
        if (leftAt === undefined) {
          const s = await account.status('laptop')
          const got = Object.values(s?.sources ?? {}).reduce((a, c) => a + c.bytes, 0)
          if (got < 0.4 * total && t < 120) return
          receivedAtLeave = got
          leftAt = round(t)
          log(
            `commute: laptop leaves the LAN at ${t.toFixed(1)} s with ${(got / 2 ** 20).toFixed(1)} MiB`,
          )
          await lab.leaveLan('laptop')
          await mkdir(join(account.folder('laptop'), 'offline'), { recursive: true })
          for (const [path, bytes] of offline)
            await writeFile(join(account.folder('laptop'), path), bytes)
        } else if (roamedAt === undefined && t >= leftAt + OFFLINE_S) {
          roamedAt = round(t)
          log(`commute: laptop back on its remote link at ${t.toFixed(1)} s`)
          await lab.roam('laptop')
        }
      },
    })
    const devices = await deviceResults(account, observed)
    const laptop = observed.synced.get('laptop')
    return [
      {
        cloud_commit_s: observed.commitS,
        devices,
        timeline: observed.timeline,
        checks: [
          {
            name: 'left mid-sync',
            ok: leftAt !== undefined && receivedAtLeave < total,
            detail: `left at ${leftAt ?? '-'} s with ${round(receivedAtLeave / 2 ** 20)} of ${round(total / 2 ** 20)} MiB`,
          },
          {
            name: 'both identical, offline edits kept',
            ok: devices.every((d) => d.synced_s !== null),
            detail: devices.map((d) => `${d.device} ${d.synced_s ?? 'not synced'}`).join(', '),
          },
          {
            name: 'laptop synced after roaming',
            // Identical before roaming means it never needed the remote link.
            ok:
              laptop !== null &&
              laptop !== undefined &&
              roamedAt !== undefined &&
              laptop >= roamedAt,
            detail: `roamed at ${roamedAt ?? '-'} s, laptop identical ${laptop === null || laptop === undefined || roamedAt === undefined ? '-' : round(laptop - roamedAt)} s later`,
          },
        ],
      },
    ]
  },
}
