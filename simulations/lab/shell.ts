/**
 * The lab's commands: `ip`, `tc` and `nft` run as root, in the root namespace or inside
 * one of the lab's, with a clear error naming the command that failed.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** Exit code of a lab command run without root: distinct from a failure (1) and usage (2). */
export const EXIT_NOT_ROOT = 77

export class LabError extends Error {
  override name = 'LabError'
}

/** Runs a command; resolves with its stdout, throws with its stderr. */
export async function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 24 })
    return stdout
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string }
    const said = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim() || e.message
    throw new LabError(`${cmd} ${args.join(' ')}: ${said}`)
  }
}

/** The same, synchronously: for teardown from an `exit` handler, where nothing async runs. */
export function shSync(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

/** Runs a command inside a namespace. */
export const nsExec = (ns: string, cmd: string, args: string[], timeoutMs?: number) =>
  sh('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs)

export const isRoot = () => process.getuid?.() === 0

/**
 * The lab needs root (namespaces, qdiscs, nftables). Without it: a clear message and a
 * non-zero exit, before anything is made.
 */
export function requireRoot(what: string): void {
  if (isRoot()) return
  process.stderr.write(
    `${what} needs root: it creates network namespaces, tc qdiscs and nftables rules. ` +
      'Run it as root (for example with sudo).\n',
  )
  process.exit(EXIT_NOT_ROOT)
}

/** Debian's python3 for the delay line (not a per-user shim that a CI run may lack). */
export const PYTHON = '/usr/bin/python3'
const SETUP = resolve(import.meta.dirname, 'setup.sh')

/**
 * The tools the lab uses, installed by the lab's own setup script when one is missing
 * (Debian packages: nftables, python3, iproute2), never by hand.
 */
export function ensureTools(): void {
  const missing = ['/usr/sbin/nft', '/usr/sbin/tc', '/usr/sbin/ip', PYTHON].filter(
    (p) => !existsSync(p),
  )
  if (missing.length === 0) return
  process.stderr.write(`lab: ${missing.join(', ')} missing; running ${SETUP}\n`)
  const r = spawnSync('bash', [SETUP], { stdio: ['ignore', 2, 2], timeout: 600_000 })
  if (r.status !== 0) throw new LabError(`${SETUP} failed (exit ${r.status})`)
}
