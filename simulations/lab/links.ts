/**
 * Wires between namespaces: a veth pair, or, when a link has added delay, two TUN devices
 * joined by the userspace delay line (delay-line.py); and `tc tbf` on a device's egress
 * for one direction's bandwidth.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { LabError, PYTHON, sh } from './shell.ts'

const DELAY_LINE = resolve(import.meta.dirname, 'delay-line.py')

export interface Wire {
  /** The delay line's process, when the wire has added delay. */
  delayLine?: ChildProcess
}

/** A veth pair with one end in each namespace. */
export async function vethPair(nsA: string, ifA: string, nsB: string, ifB: string): Promise<Wire> {
  await sh('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', ifB, 'netns', nsB])
  return {}
}

/**
 * Two TUN devices, `ifA` in nsA and `ifB` in nsB, with every packet delayed `oneWayMs` in
 * each direction by the delay line. The line runs inside nsA; its stdin is a pipe from this
 * process, so it ends when the lab's process does, whatever kills it.
 */
export async function delayPair(
  nsA: string,
  ifA: string,
  nsB: string,
  ifB: string,
  oneWayMs: number,
): Promise<Wire> {
  const child = spawn('ip', ['netns', 'exec', nsA, PYTHON, DELAY_LINE, ifA, ifB, `${oneWayMs}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000)
  })
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(
      () => fail(new LabError(`delay line ${ifA}: no "ready" in 10 s`)),
      10_000,
    )
    child.stdout!.once('data', () => {
      clearTimeout(timer)
      ready()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      fail(new LabError(`delay line ${ifA} exited (${code}): ${err.trim()}`))
    })
  })
  child.stdout!.resume()
  // The second device moves to its namespace; the line's descriptor follows it.
  await sh('ip', ['-n', nsA, 'link', 'set', ifB, 'netns', nsB])
  return { delayLine: child }
}

/** Token bucket sizes for a rate: a few ms of bytes, at least ten full-size frames. */
export function tbfParams(mbit: number): { burst: number; limit: number } {
  const bytesPerS = (mbit * 1e6) / 8
  const burst = Math.max(15_140, Math.round(bytesPerS * 0.004))
  // A queue of 100 ms at the rate: enough for TCP to fill the link, no bufferbloat beyond.
  const limit = Math.max(3 * burst, Math.round(bytesPerS * 0.1))
  return { burst, limit }
}

/** Limits what leaves `dev` in `ns` to `mbit`; undefined removes the limit. */
export async function shape(ns: string, dev: string, mbit: number | undefined): Promise<void> {
  if (mbit === undefined) {
    await sh('tc', ['-n', ns, 'qdisc', 'del', 'dev', dev, 'root']).catch(() => {})
    return
  }
  if (!(mbit > 0)) throw new LabError(`bandwidth must be positive, got ${mbit} Mbit/s`)
  const { burst, limit } = tbfParams(mbit)
  await sh('tc', [
    '-n',
    ns,
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${Math.round(mbit * 1000)}kbit`,
    'burst',
    `${burst}`,
    'limit',
    `${limit}`,
  ])
}

export async function setUp(ns: string, dev: string, up: boolean): Promise<void> {
  await sh('ip', ['-n', ns, 'link', 'set', dev, up ? 'up' : 'down'])
}

export async function addAddress(ns: string, dev: string, cidr: string): Promise<void> {
  await sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', dev])
}

/** Sends `dest` (an address or subnet) through `via`, replacing any earlier route. */
export async function route(ns: string, dest: string, via: string, dev?: string): Promise<void> {
  await sh('ip', ['-n', ns, 'route', 'replace', dest, 'via', via, ...(dev ? ['dev', dev] : [])])
}
