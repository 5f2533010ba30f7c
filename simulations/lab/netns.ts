/**
 * The lab's network namespaces: unique names carrying the owning process's pid, creation,
 * removal (processes inside first), and the clean-up of labs whose owner died.
 */
import { sh, shSync } from './shell.ts'

/** Every lab namespace starts with this; then the owner's pid, a lab counter and a role. */
export const NS_PREFIX = 'cslab-'
let labCount = 0

/** A fresh name stem for one lab of this process: `cslab-<pid>-<n>`. */
export function newLabStem(): string {
  labCount++
  return `${NS_PREFIX}${process.pid}-${labCount}`
}

export async function listLabNamespaces(): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list'])
  return parseNetnsList(out)
}

function parseNetnsList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!.trim())
    .filter((n) => n.startsWith(NS_PREFIX))
}

/** The pid in a lab namespace's name. */
export function ownerPid(ns: string): number {
  return Number(ns.slice(NS_PREFIX.length).split('-')[0])
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function createNamespace(ns: string): Promise<void> {
  await sh('ip', ['netns', 'add', ns])
  await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
}

/**
 * Ends every process inside a namespace (each by its pid, as `ip netns pids` lists them),
 * then deletes it. Synchronous, so it also runs from an `exit` handler.
 */
export function deleteNamespaceSync(ns: string): void {
  for (let round = 0; round < 3; round++) {
    const pids = shSync('ip', ['netns', 'pids', ns])
      .out.split('\n')
      .map(Number)
      .filter((p) => Number.isInteger(p) && p > 0 && p !== process.pid)
    if (pids.length === 0) break
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    shSync('sleep', ['0.1'])
  }
  shSync('ip', ['netns', 'del', ns])
}

/**
 * Namespaces left by a lab whose process is gone (killed, crashed): removed, with what was
 * in them. Returns their names so the caller can say what it cleaned.
 */
export async function cleanLeftovers(): Promise<string[]> {
  const stale = (await listLabNamespaces()).filter((ns) => !alive(ownerPid(ns)))
  for (const ns of stale) deleteNamespaceSync(ns)
  return stale
}
