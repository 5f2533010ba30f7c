import type { Change } from '../../protocol/schemas/sync.ts'

/**
 * Why a path is not in sync:
 * - `unsyncable`: a local entry that is never sent (a name no device could use, a symlink);
 *   it goes when the entry goes.
 * - `failing`: a local change whose upload keeps failing; retried with backoff.
 * - `skipped`: a remote change that could not be applied (a bad manifest, a full disk, a
 *   file where a folder is); the log went on past it, and it is applied again later.
 */
export type ProblemKind = 'unsyncable' | 'failing' | 'skipped'

export interface SyncProblem {
  path: string
  kind: ProblemKind
  /** What went wrong, for a person (the last error's message). */
  reason: string
  /** The error's code (CloudsyncError code, or errno such as ENOSPC), when it has one. */
  code?: string
  /** When it was first seen and last seen (ms since the epoch). */
  since: number
  lastAt: number
  attempts: number
  /** The remote change a `skipped` problem holds, to apply once it can be. */
  change?: Change
}

/** Where skipped remote changes are kept across restarts (the device's index). */
export interface SkippedChangeStore {
  load(): Change[]
  save(changes: Change[]): void
}

const key = (kind: ProblemKind, path: string) =>
  `${kind === 'skipped' ? 'remote' : 'local'}:${path}`

/** The errno or CloudsyncError code of an error, if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Every path the device cannot sync right now, and why: what `status` shows. A local and a
 * remote problem may stand for one path at once.
 */
export class SyncProblems {
  readonly #problems = new Map<string, SyncProblem>()
  readonly #store: SkippedChangeStore | undefined
  readonly #now: () => number

  constructor(options: { now: () => number; store?: SkippedChangeStore }) {
    this.#now = options.now
    this.#store = options.store
    for (const change of this.#store?.load() ?? []) {
      const at = this.#now()
      const problem: SyncProblem = {
        path: change.path,
        kind: 'skipped',
        reason: 'skipped before a restart; will be applied again',
        since: at,
        lastAt: at,
        attempts: 1,
        change,
      }
      this.#problems.set(key('skipped', change.path), problem)
    }
  }

  /** Records (or updates) a problem; answers true when it is new, worth a log line. */
  set(
    path: string,
    kind: ProblemKind,
    why: { reason: string; code?: string | undefined; change?: Change },
  ): boolean {
    const k = key(kind, path)
    const old = this.#problems.get(k)
    const at = this.#now()
    const problem: SyncProblem = {
      path,
      kind,
      reason: why.reason,
      ...(why.code !== undefined && { code: why.code }),
      since: old?.since ?? at,
      lastAt: at,
      attempts: (old?.attempts ?? 0) + 1,
      ...(why.change && { change: why.change }),
    }
    this.#problems.set(k, problem)
    if (kind === 'skipped' || old?.kind === 'skipped') this.#save()
    return old === undefined || old.kind !== kind || old.reason !== why.reason
  }

  get(path: string, kind: ProblemKind): SyncProblem | undefined {
    const problem = this.#problems.get(key(kind, path))
    return problem?.kind === kind ? problem : undefined
  }

  /** Forgets a path's problem of this kind (or, without a kind, its local ones). */
  clear(path: string, kind?: ProblemKind): void {
    const kinds: ProblemKind[] = kind ? [kind] : ['unsyncable', 'failing']
    for (const k of kinds) {
      const problem = this.#problems.get(key(k, path))
      if (problem?.kind !== k) continue
      this.#problems.delete(key(k, path))
      if (k === 'skipped') this.#save()
    }
  }

  list(kind?: ProblemKind): SyncProblem[] {
    const all = [...this.#problems.values()]
    return (kind ? all.filter((p) => p.kind === kind) : all).sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    )
  }

  get size(): number {
    return this.#problems.size
  }

  #save(): void {
    this.#store?.save(this.list('skipped').flatMap((p) => (p.change ? [p.change] : [])))
  }
}
