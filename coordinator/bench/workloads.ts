/**
 * What the coordinator benchmark measures, each against a set of instances (base URLs):
 * commits per second, change-feed reads per second, and push latency from commit to the
 * WebSockets of the committing account while an idle fleet of devices stays connected.
 */
import { call, commitFile, encryptedFile, expectStatus, percentile, runFor } from './client.ts'
import type { SeededDevice } from './seed.ts'

export interface Limits {
  count: number
  ms: number
  concurrency: number
}

/**
 * The run's yardstick: `GET /healthz` (no auth, no store) at the same concurrency over the
 * same instances: what this machine's HTTP stack manages at this hour. A commit is three
 * requests with the database and the blob store behind them; this machine's absolute
 * figures drift by a fifth from hour to hour, and the ratio of the two much less.
 */
export async function measureHttpFloor(
  instances: string[],
  limits: Limits,
): Promise<{ perSecond: number; done: number }> {
  const run = await runFor(limits.count, limits.ms, limits.concurrency, async (i) => {
    expectStatus(await call(`${instances[i % instances.length]}/healthz`, 'GET'), 200, 'healthz')
  })
  return { perSecond: (run.done / run.elapsedMs) * 1000, done: run.done }
}

/** init + PUT + complete of fresh 4 KiB single-chunk files, spread over the devices and
 * instances (all three steps of one commit on one instance: its blob store). */
export async function measureCommits(
  instances: string[],
  devices: SeededDevice[],
  limits: Limits,
): Promise<{ perSecond: number; done: number }> {
  // Encrypting 4 KiB takes microseconds: done per commit, so a large --commits with a
  // time bound costs nothing up front.
  const run = await runFor(limits.count, limits.ms, limits.concurrency, async (i) => {
    const device = devices[i % devices.length]!
    const file = encryptedFile(device.secret)
    await commitFile(instances[i % instances.length]!, device.credential, `bench/${i}.bin`, file)
  })
  return { perSecond: (run.done / run.elapsedMs) * 1000, done: run.done }
}

/** `GET /sync/changes` pages (the default 100) from random cursors in each device's log. */
export async function measureReads(
  instances: string[],
  devices: SeededDevice[],
  limits: Limits,
): Promise<{ perSecond: number; done: number }> {
  const heads = await Promise.all(
    devices.map(async (d) => {
      const answer = await call(`${instances[0]}/sync/notify`, 'POST', {
        credential: d.credential,
        body: { paths: ['bench'] },
      })
      return expectStatus(answer, 200, 'notify').body.cursor as number
    }),
  )
  const run = await runFor(limits.count, limits.ms, limits.concurrency, async (i) => {
    const k = i % devices.length
    const cursor = Math.floor(Math.random() * Math.max(1, heads[k]! - 100))
    const base = instances[i % instances.length]
    expectStatus(
      await call(`${base}/sync/changes?cursor=${cursor}`, 'GET', {
        credential: devices[k]!.credential,
      }),
      200,
      'changes',
    )
  })
  return { perSecond: (run.done / run.elapsedMs) * 1000, done: run.done }
}

interface Socket {
  ws: WebSocket
  ready: Promise<void>
}

/** Opens a device's push socket, says hello from the account's current end of log, and
 * records, for every change pushed, the time since its commit (same host, same clock). */
function openSocket(base: string, credential: string, latencies: number[]): Socket {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/sync/ws`, {
    headers: { authorization: `Bearer ${credential}` },
  } as never)
  const { promise: ready, resolve, reject } = Promise.withResolvers<void>()
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'hello', cursor: 0 })))
  ws.addEventListener('error', () => reject(new Error(`socket to ${base} failed`)))
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(String(e.data))
    if (m.type === 'ready') resolve()
    else if (m.type === 'change') latencies.push(Date.now() - Date.parse(m.change.committedAt))
  })
  return { ws, ready }
}

export interface PushResult {
  p50: number
  p99: number
  samples: number
  sockets: number
}

/**
 * Connects every device of `fleet` (accounts of devices), sockets spread over the
 * instances; then commits, `concurrency` at a time, to one account after another (device 0
 * committing, through the instance after its own), and takes the latency at every socket
 * of that account. Changes caught up at hello are not counted: only live pushes.
 */
export async function measurePush(
  instances: string[],
  fleet: SeededDevice[][],
  limits: Limits,
  log: (line: string) => void,
): Promise<PushResult> {
  const latencies: number[] = []
  const live: number[] = []
  const sockets: Socket[] = []
  const connectStart = performance.now()
  try {
    const all = fleet.flat()
    // Bounded opening rate: each connect writes presence and announces the device.
    await runFor(all.length, 120_000, 50, async (i) => {
      const s = openSocket(instances[i % instances.length]!, all[i]!.credential, latencies)
      sockets.push(s)
      await s.ready
    })
    if (sockets.length < all.length) throw new Error('the fleet did not connect in 2 minutes')
    log(
      `  ${sockets.length} sockets ready in ${((performance.now() - connectStart) / 1000).toFixed(1)} s`,
    )
    // Let the connect announcements settle before timing pushes.
    await new Promise((r) => setTimeout(r, 1000))
    latencies.length = 0

    await runFor(limits.count, limits.ms, limits.concurrency, async (i) => {
      const account = fleet[i % fleet.length]!
      const base = instances[(i + 1) % instances.length]!
      const file = encryptedFile(account[0]!.secret)
      await commitFile(base, account[0]!.credential, `push/${i}.bin`, file)
    })
    // Pushes still in flight after the last commit answered.
    await new Promise((r) => setTimeout(r, 500))
    live.push(...latencies)
  } finally {
    for (const s of sockets) s.ws.close()
  }
  return {
    p50: percentile(live, 50),
    p99: percentile(live, 99),
    samples: live.length,
    sockets: sockets.length,
  }
}
