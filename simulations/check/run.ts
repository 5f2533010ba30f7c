/**
 * One simulated run of a plan: a fresh account on the coordinator, its devices, the
 * steps on a virtual clock, then a calm phase (faults off, everything restarted and
 * healed) in which the devices must settle, then the checks. Same plan, same run.
 */
import { HttpCoordinator, type SyncEngineDeps } from '../../peer/index.ts'
import { sourceFromBytes } from '../../protocol/pipeline/byte-source.ts'
import { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import type { FileSummary } from '../../protocol/schemas/files.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import { applyUserOp } from './actions.ts'
import {
  checkChunksStored,
  checkConflictCopies,
  checkConverged,
  checkCursors,
  checkNoLostWrites,
  checkWholeFiles,
  short,
  type Tree,
  treeOf,
} from './checks.ts'
import { EPOCH_MS, VirtualClock } from './clock.ts'
import { COORDINATOR_URL, SimCoordinator } from './coordinator.ts'
import { SIM_CHUNKING, SimDevice } from './device.ts'
import { History } from './history.ts'
import { NO_FAULTS, SimNetwork } from './network.ts'
import { Rng } from './rng.ts'
import { describeOp, type Plan } from './workload.ts'

export interface RunOptions {
  /** Keep a readable trace of the run (replays do; bulk runs need not). */
  trace?: boolean
  /** Log the engines' warnings into the trace. */
  verbose?: boolean
  /** Alters each engine's dependencies: a deliberately broken engine, in tests. */
  tamper?: (deps: SyncEngineDeps, device: string) => void
}

export interface RunResult {
  plan: Plan
  failures: string[]
  trace: string[]
  /** Virtual milliseconds the run took, calm phase included. */
  virtualMs: number
}

/** How long the calm phase may take before the devices count as stuck. */
const SETTLE_LIMIT_MS = 60_000

export async function runPlan(plan: Plan, options: RunOptions = {}): Promise<RunResult> {
  const clock = new VirtualClock()
  const rng = new Rng(plan.seed ^ 0x5eed)
  const history = new History(options.trace ?? false)
  const failures: string[] = []
  const violation = (message: string) => {
    history.note(clock.now(), `VIOLATION ${message}`)
    if (!failures.includes(message)) failures.push(message)
  }
  const coordinator = await SimCoordinator.open(() => clock.now())
  const network = new SimNetwork(clock, rng.fork(), coordinator, plan.faults)
  if (options.verbose)
    network.onAnswer = (device, what, status, body) =>
      history.note(clock.now(), `  ${device} ${what} ${status} ${body}`)
  const secret = new Uint8Array(32).map(() => rng.int(0, 255))
  const linked = await coordinator.newAccount(plan.devices)
  const devices = linked.map(
    (l) =>
      new SimDevice({
        linked: l,
        secret,
        clock,
        network,
        coordinator,
        rng: rng.fork(),
        log: (device, message) => {
          if (options.verbose) history.note(clock.now(), `  ${device} ${message}`)
        },
        violation,
        ...(options.tamper && { tamper: (deps) => options.tamper!(deps, l.name) }),
      }),
  )
  const observer = new HttpCoordinator({
    baseUrl: COORDINATOR_URL,
    credential: linked[0]!.credential,
    transport: (call) => coordinator.inject(call).then((a) => checkedOrThrow(a, call.what)),
  })
  try {
    history.note(
      clock.now(),
      `plan: seed ${plan.seed}, ${plan.devices} devices, ${plan.steps.length} steps, faults ${JSON.stringify(plan.faults)}`,
    )
    for (const d of devices) d.start()
    for (const [i, step] of plan.steps.entries()) {
      await clock.advance(step.wait)
      const did = await applyStep(step.op, i, {
        devices,
        coordinator,
        network,
        history,
        seed: plan.seed,
        now: clock.now(),
      })
      const on = 'device' in step.op ? `device-${step.op.device} ` : ''
      history.note(clock.now(), `step ${i}: ${did ? on + did : `(skipped) ${describeOp(step.op)}`}`)
      for (const broken of await checkWholeFiles(devices, history)) violation(broken)
      if (failures.length > 0) break
    }
    if (failures.length === 0) {
      history.note(clock.now(), 'calm: faults off, everything healed and restarted')
      network.faults = NO_FAULTS
      for (const d of devices) network.heal(d.name)
      await coordinator.restart()
      for (const d of devices) d.start()
      const settled = await settle(clock, devices)
      if (!settled)
        violation(
          `devices did not settle within ${SETTLE_LIMIT_MS / 1000} s of calm: ${devices.map(busyness).join('; ')}`,
        )
      await check(devices, observer, history, secret, violation)
    }
    return { plan, failures, trace: history.trace, virtualMs: clock.now() - EPOCH_MS }
  } finally {
    for (const d of devices) d.crash()
    for (const d of devices) d.index.close()
    await coordinator.finish()
  }
}

function checkedOrThrow(answer: { status: number; body: Uint8Array }, what: string) {
  if (answer.status >= 200 && answer.status < 300) return answer
  throw new Error(`${what}: status ${answer.status} ${Buffer.from(answer.body).toString()}`)
}

interface StepContext {
  devices: SimDevice[]
  coordinator: SimCoordinator
  network: SimNetwork
  history: History
  seed: number
  now: number
}

async function applyStep(op: Plan['steps'][number]['op'], step: number, ctx: StepContext) {
  const { devices, coordinator, network } = ctx
  const device = 'device' in op ? devices[op.device] : undefined
  switch (op.kind) {
    case 'crash':
      if (!device?.up) return undefined
      device.crash()
      return `crash ${device.name}`
    case 'restart':
      if (!device || device.up) return undefined
      device.start()
      return `restart ${device.name}`
    case 'isolate':
      if (!device || network.isolated(device.name)) return undefined
      network.isolate(device.name)
      return `partition ${device.name} from the coordinator`
    case 'heal':
      if (!device || !network.isolated(device.name)) return undefined
      network.heal(device.name)
      return `heal ${device.name}`
    case 'crash-coordinator':
      if (!coordinator.up) return undefined
      coordinator.crash()
      network.breakChannels()
      return 'crash the coordinator'
    case 'restart-coordinator':
      if (coordinator.up) return undefined
      await coordinator.restart()
      return 'restart the coordinator'
    case 'gc':
      if (!coordinator.up) return undefined
      await coordinator.collectGarbage()
      return 'garbage collection'
    default:
      return applyUserOp(op, { ...ctx, step })
  }
}

/** Settled: every device idle, at the same cursor, with the same tree, twice a rescan apart. */
async function settle(clock: VirtualClock, devices: SimDevice[]): Promise<boolean> {
  const deadline = clock.now() + SETTLE_LIMIT_MS
  let previous: string | undefined
  while (clock.now() < deadline) {
    await clock.advance(previous === undefined ? 1_000 : 6_000)
    const state = await stateOf(devices)
    if (state === undefined) previous = undefined
    else if (state === previous) return true
    else previous = state
  }
  return false
}

/** What a device still has to do, for the report of one that never settles. */
function busyness(d: SimDevice): string {
  const uploads = d.index.listUploads().map((u) => u.path)
  const pending = d.engine?.pendingPaths ?? 0
  return `${d.name} at cursor ${d.index.get('cursor') ?? 0}, ${pending} path(s) pending, uploads [${uploads.join(', ')}]`
}

async function stateOf(devices: SimDevice[]): Promise<string | undefined> {
  const parts: string[] = []
  for (const d of devices) {
    if (!d.engine || d.engine.pendingPaths > 0 || d.index.listUploads().length > 0) return undefined
    const tree: Tree = await treeOf(d)
    parts.push(`${d.index.get('cursor') ?? 0}|${JSON.stringify([...tree])}`)
  }
  return parts.every((p) => p === parts[0]) ? parts[0] : undefined
}

async function check(
  devices: SimDevice[],
  api: HttpCoordinator,
  history: History,
  secret: Uint8Array,
  violation: (message: string) => void,
): Promise<void> {
  const log: Change[] = []
  for (let cursor = 0; ; ) {
    const page = await api.changes(cursor, { limit: 1000 })
    log.push(...page.changes)
    cursor = page.cursor
    if (!page.hasMore) break
  }
  const live: FileSummary[] = []
  for (let cursor: string | undefined; ; ) {
    const page = await api.list({ limit: 1000, ...(cursor && { cursor }) })
    live.push(...page.files)
    cursor = page.next
    if (!cursor) break
  }
  const plainOf = await keyedHashes(history, secret)
  for (const c of log) {
    const from = c.fromPath ? `${c.fromPath} -> ` : ''
    const copy = c.conflictOf ? ` (conflict copy of ${c.conflictOf.path})` : ''
    const chunks = c.chunks ? `${c.chunks.length} chunks` : 'no chunks'
    history.line(
      `log ${c.seq}: ${c.kind} ${from}${c.path} v${c.version} = ${short(plainOf.get(c.hash) ?? c.hash)} (${chunks})${copy}`,
    )
  }
  const final = await treeOf(devices[0]!)
  for (const broken of [
    ...(await checkConverged(devices, live)),
    ...(await checkWholeFiles(devices, history)),
    ...checkNoLostWrites(log, final, history, plainOf),
    ...checkCursors(log, devices),
    ...(await checkChunksStored(api, live)),
    ...checkConflictCopies(log, history, plainOf),
  ])
    violation(broken)
}

/** Each user content's keyed hash (the one the coordinator knows), to its plain hash. */
async function keyedHashes(history: History, secret: Uint8Array): Promise<Map<string, string>> {
  const pipeline = new ChunkPipeline({ secret, workers: 0, chunking: SIM_CHUNKING })
  const out = new Map<string, string>()
  try {
    for (const [plain, bytes] of history.contents) {
      const { manifest } = await pipeline.encode(sourceFromBytes(bytes), { sizeHint: bytes.length })
      out.set(manifest.hash, plain)
    }
  } finally {
    await pipeline.close()
  }
  return out
}
