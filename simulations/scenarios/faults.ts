/**
 * faults, one after another in one account (three LAN devices a, b, c behind the home
 * uplink, a remote device r):
 * - wan-cut: the uplink is cut for 10 s in the middle of a's upload; the upload resumes and
 *   sends again at most what was in flight;
 * - peer-gone: c fetches a file while a, one of its LAN peers, is killed; b and the cloud
 *   take over;
 * - coordinator-restart: the coordinator is killed and started again mid-upload.
 */
import type { DeviceStatus } from '../lab/cloudsync.ts'
import type { LabSpec } from '../lab/spec.ts'
import { deviceResults, type Observed, observe, round } from './observe.ts'
import type { Check, RunContext, RunFigures, Scenario } from './types.ts'
import { stageWorkload } from './workload.ts'

const MiB = 1024 * 1024
const CUT_S = 10
/** At most this many chunk uploads run at once (the uploader's default), each at most 16 MiB. */
const IN_FLIGHT_BOUND = 4 * 16 * MiB
const ALL = ['a', 'b', 'c', 'r']

export const faults: Scenario = {
  name: 'faults',
  devices: ALL,
  lab: (): LabSpec => ({
    lans: [
      { name: 'home', hosts: ['a', 'b', 'c'], uplink: { downMbit: 50, upMbit: 20, rttMs: 30 } },
    ],
    remotes: [{ name: 'r', link: { downMbit: 20, upMbit: 20, rttMs: 60 } }],
  }),
  async run(ctx: RunContext): Promise<RunFigures[]> {
    const { account } = ctx
    for (const d of ALL) account.startDaemon(d)
    await account.waitConnected(ALL, ALL.length - 1)
    const tree: Tree = { sizes: new Map(), hashes: new Map() }
    const parts: RunFigures[] = []
    for (const [name, fault] of [
      ['wan-cut', wanCut],
      ['peer-gone', peerGone],
      ['coordinator-restart', coordinatorRestart],
    ] as const) {
      // A fault that fails is reported as such; the next one still runs.
      const figures = await fault(ctx, tree).catch((err: Error) => {
        ctx.log(`faults/${name} failed: ${err.stack ?? err}`)
        const failed: RunFigures = {
          part: name,
          cloud_commit_s: null,
          devices: [],
          timeline: [],
          checks: [{ name: 'ran to the end', ok: false, detail: err.message }],
        }
        return failed
      })
      parts.push(figures)
    }
    return parts
  },
}

/** Every file the parts saved so far: what each folder must hold. */
interface Tree {
  sizes: Map<string, number>
  hashes: Map<string, string>
}

interface Tick {
  t: number
  /** Bytes of this part's files. */
  total: number
  /** a's upload counters before the save. */
  sentBefore: number
  commitsBefore: number
  files: number
}

/** Saves a prefixed workload on a and watches `devices` until identical and committed. */
async function part(
  ctx: RunContext,
  tree: Tree,
  prefix: string,
  devices: string[],
  onTick: (tick: Tick) => Promise<void>,
) {
  const { account, workload, seed } = ctx
  const staged = await stageWorkload(account, 'a', workload, seed, prefix)
  const before = (await account.status('a'))?.uploads ?? {}
  const total = [...staged.sizes.values()].reduce((x, y) => x + y, 0)
  for (const [p, size] of staged.sizes) tree.sizes.set(p, size)
  for (const [p, hash] of staged.hashes) tree.hashes.set(p, hash)
  const { sizes, hashes } = tree
  const baseline = await statuses(ctx, devices)
  const start = await staged.save()
  const observed = await observe({
    account,
    devices,
    sizes,
    hashes,
    start,
    writer: 'a',
    commitsBefore: before.commits ?? 0,
    commits: staged.sizes.size,
    budgetMs: ((total * 8) / 20e6) * 3_000 + 300_000,
    onTick: (t) =>
      onTick({
        t,
        total,
        sentBefore: before.bytesSent ?? 0,
        commitsBefore: before.commits ?? 0,
        files: staged.sizes.size,
      }),
  })
  const after = (await account.status('a'))?.uploads ?? {}
  const results = await deviceResults(account, observed, baseline)
  return { observed, results, total, sent: (after.bytesSent ?? 0) - (before.bytesSent ?? 0) }
}

async function statuses(ctx: RunContext, devices: string[]) {
  const out = new Map<string, DeviceStatus>()
  for (const d of devices) {
    const s = await ctx.account.status(d)
    if (s) out.set(d, s)
  }
  return out
}

function converged(observed: Observed): Check {
  const all = [...observed.synced]
  return {
    name: 'every device identical, commit seen',
    ok: all.every(([, s]) => s !== null) && observed.commitS !== null,
    detail: `${all.map(([d, s]) => `${d} ${s ?? 'not synced'}`).join(', ')}; commit ${observed.commitS ?? 'not seen'}`,
  }
}

async function wanCut(ctx: RunContext, tree: Tree): Promise<RunFigures> {
  const { account, lab, log } = ctx
  let cutAt: number | undefined
  let healed = false
  const { observed, results, total, sent } = await part(
    ctx,
    tree,
    'cut-',
    ['b', 'c', 'r'],
    async ({ t, total, sentBefore }) => {
      if (cutAt === undefined) {
        const sent = ((await account.status('a'))?.uploads.bytesSent ?? 0) - sentBefore
        if (sent < 0.4 * total) return
        cutAt = round(t)
        log(`faults: uplink cut at ${t.toFixed(1)} s`)
        lab.setCut('home', true)
      } else if (!healed && t >= cutAt + CUT_S) {
        healed = true
        lab.setCut('home', false)
      }
    },
  )
  if (!healed) lab.setCut('home', false)
  const resent = Math.max(0, sent - total)
  return {
    part: 'wan-cut',
    cloud_commit_s: observed.commitS,
    devices: results,
    timeline: observed.timeline,
    checks: [
      {
        name: `uplink cut ${CUT_S} s mid-upload`,
        ok: cutAt !== undefined && healed,
        detail: `cut at ${cutAt ?? '-'} s`,
      },
      converged(observed),
      {
        name: 'sent again at most what was in flight',
        ok: resent <= IN_FLIGHT_BOUND,
        detail: `a sent ${round(sent / MiB)} MiB for ${round(total / MiB)} MiB of files: ${round(resent / MiB)} MiB again (bound ${IN_FLIGHT_BOUND / MiB})`,
      },
    ],
  }
}

async function peerGone(ctx: RunContext, tree: Tree): Promise<RunFigures> {
  const { account, log } = ctx
  // c is away while a saves and commits; it comes back and fetches from a, b and the cloud,
  // and a is killed as soon as c has bytes from peers.
  await account.stopDaemon('c')
  let cStartedAt: number | undefined
  let killedAt: number | undefined
  let cHadFromPeers = 0
  const { observed, results } = await part(
    ctx,
    tree,
    'gone-',
    ['b', 'c', 'r'],
    async ({ t, commitsBefore, files }) => {
      if (cStartedAt === undefined) {
        const commits = (await account.status('a'))?.uploads.commits ?? 0
        if (commits - commitsBefore < files) return
        cStartedAt = round(t)
        account.startDaemon('c')
        return
      }
      if (killedAt !== undefined) return
      const c = await account.status('c')
      const fresh = c && c.pid !== undefined && Date.parse(c.updatedAt) > Date.now() - 2_000
      const fromPeers = fresh ? (c.sources.swarm?.bytes ?? 0) + (c.sources.prefetch?.bytes ?? 0) : 0
      if (fromPeers === 0 && t < cStartedAt + 60) return
      killedAt = round(t)
      cHadFromPeers = fromPeers
      log(`faults: a killed at ${t.toFixed(1)} s, c had ${round(fromPeers / MiB)} MiB from peers`)
      await account.stopDaemon('a', true)
    },
  )
  account.startDaemon('a')
  await account.waitConnected(['a'], 1)
  const cSynced = observed.synced.get('c')
  return {
    part: 'peer-gone',
    cloud_commit_s: observed.commitS,
    devices: results,
    timeline: observed.timeline,
    checks: [
      {
        name: 'a LAN peer killed mid-transfer',
        ok:
          killedAt !== undefined &&
          (cSynced === null || cSynced === undefined || cSynced > killedAt),
        detail: `c started at ${cStartedAt ?? '-'} s; a killed at ${killedAt ?? '-'} s with ${round(cHadFromPeers / MiB)} MiB from peers on c; c identical at ${cSynced ?? '-'} s`,
      },
      converged(observed),
    ],
  }
}

async function coordinatorRestart(ctx: RunContext, tree: Tree): Promise<RunFigures> {
  const { account, coordinator, log } = ctx
  let restartedAt: number | undefined
  // Started in the background: the watch goes on while the coordinator comes back.
  let restarting: Promise<void> = Promise.resolve()
  const { observed, results } = await part(
    ctx,
    tree,
    'restart-',
    ['b', 'c', 'r'],
    async ({ t, total, sentBefore }) => {
      if (restartedAt !== undefined) return
      const sent = ((await account.status('a'))?.uploads.bytesSent ?? 0) - sentBefore
      if (sent < 0.4 * total) return
      restartedAt = round(t)
      log(`faults: coordinator killed at ${t.toFixed(1)} s`)
      await coordinator.stop(true)
      restarting = coordinator.start()
    },
  )
  await restarting
  return {
    part: 'coordinator-restart',
    cloud_commit_s: observed.commitS,
    devices: results,
    timeline: observed.timeline,
    checks: [
      {
        name: 'coordinator killed and restarted mid-upload',
        ok: restartedAt !== undefined,
        detail: `at ${restartedAt ?? '-'} s`,
      },
      converged(observed),
    ],
  }
}
