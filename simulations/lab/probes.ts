/** The lab's measuring processes (probe.ts), started inside its namespaces: for tests and baselines. */
import type { ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import type { Lab } from './lab.ts'

const PROBE = resolve(import.meta.dirname, './probe.ts')

/** JSON lines a probe printed, as they arrive. */
function lines(child: ChildProcess): AsyncIterator<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = []
  const waiting: ((v: IteratorResult<Record<string, unknown>>) => void)[] = []
  let buf = ''
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const obj = JSON.parse(buf.slice(0, i)) as Record<string, unknown>
      buf = buf.slice(i + 1)
      const w = waiting.shift()
      if (w) w({ value: obj, done: false })
      else queue.push(obj)
    }
  })
  child.once('exit', () => {
    for (const w of waiting.splice(0)) w({ value: undefined, done: true })
  })
  return {
    next: () =>
      queue.length
        ? Promise.resolve({ value: queue.shift()!, done: false })
        : child.exitCode !== null
          ? Promise.resolve({ value: undefined, done: true })
          : new Promise((r) => waiting.push(r)),
  }
}

/** A listening probe (sink or echo): resolves once it listens; `result()` is its next line. */
export async function listen(lab: Lab, host: string, args: string[]) {
  const child = lab.spawn(host, process.execPath, [PROBE, ...args])
  const it = lines(child)
  const first = await it.next()
  if (first.done) throw new Error(`probe ${args[0]} in ${host} exited before listening`)
  return {
    result: async () => {
      const r = await it.next()
      if (r.done) throw new Error(`probe ${args[0]} in ${host} exited without a result`)
      return r.value
    },
  }
}

/** Runs a probe to completion; its JSON line. */
export async function run(
  lab: Lab,
  host: string,
  args: string[],
): Promise<Record<string, unknown>> {
  const out = await lab.exec(host, process.execPath, [PROBE, ...args], 60_000)
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
