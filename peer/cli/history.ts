/**
 * `history PATH` and `restore PATH [--at TIME]`: the way back from a mistake. The
 * coordinator keeps every version for its undelete window (VERSION_RETENTION_DAYS), so a restore commits an old version's manifest again as
 * the path's newest version: no bytes move, and every device syncs it like any edit.
 */
import type { Command } from 'commander'
import { validatePath } from '../../protocol/paths.ts'
import type { HistoryEvent } from '../../protocol/schemas/history.ts'
import type { HttpCoordinator } from '../adapters/http-coordinator.ts'
import { currentVersion, linked } from './linked-api.ts'
import { bytes, CliError, EXIT } from './output.ts'

const DIR_OPTION =
  'a linked folder, for its credentials (default: the one holding the working directory)'

function describe(e: HistoryEvent, path: string): string {
  if (e.kind === 'moved')
    return e.path === path ? `moved here from ${e.fromPath}` : `moved away to ${e.path}`
  return e.kind
}

/** An event that left content at `path`: its version is what was there after it. */
const leftContentAt = (e: HistoryEvent, path: string) => e.kind !== 'deleted' && e.path === path

/** Whether an event's version can still be brought back (the undelete window). */
function keptNote(e: HistoryEvent): string {
  if (e.pruned) return '  [no longer kept]'
  return e.restorableUntil ? `  [restorable until ${e.restorableUntil}]` : ''
}

/**
 * The version to bring back: what was at `path` at `at`, or without a time, the newest
 * content that differs from what is there now.
 */
function chooseVersion(
  events: HistoryEvent[],
  path: string,
  liveHash: string | undefined,
  at: Date | undefined,
): HistoryEvent {
  if (at) {
    const then = events.find((e) => new Date(e.committedAt) <= at)
    if (!then || !leftContentAt(then, path))
      throw new CliError(`Nothing was at ${path} at ${at.toISOString()}`, EXIT.notFound)
    if (then.pruned)
      throw new CliError(
        `The content of ${path} at ${at.toISOString()} is no longer kept (the undelete window closed)`,
        EXIT.notFound,
      )
    return then
  }
  const earlier = events.find((e) => leftContentAt(e, path) && e.hash !== liveHash && !e.pruned)
  if (!earlier) throw new CliError(`${path} has no earlier version to restore`, EXIT.notFound)
  return earlier
}

async function restore(api: HttpCoordinator, path: string, at: Date | undefined): Promise<string> {
  const { events } = await api.history(path, 1000)
  const live = await currentVersion(api, path)
  const chosen = chooseVersion(events, path, live?.hash, at)
  const when = `${chosen.committedAt} (version ${chosen.version})`
  if (live && chosen.hash === live.hash) return `${path} already holds the content of ${when}`
  const old = await api.versionMetadata(chosen.fileId, chosen.version)
  const session = await api.initUpload({
    path,
    size: old.size,
    hash: old.hash,
    chunks: old.chunks,
    baseVersion: live?.version ?? null,
  })
  if (session.missing.length > 0 || session.challenges?.length)
    throw new CliError(`The chunks of ${path} as of ${when} are no longer stored`)
  const done = await api.completeUpload(session.sessionId)
  return `${path}: restored the content of ${when} as version ${done.version}`
}

export function registerHistoryCommands(program: Command): void {
  program
    .command('history')
    .description('what happened to a path: writes, moves and deletes, newest first')
    .argument('<path>', 'path in the account')
    .option('-d, --dir <path>', DIR_OPTION)
    .option('--json', 'print the events as JSON', false)
    .action(async (pathArg: string, opts: { dir?: string; json: boolean }) => {
      const { api } = await linked(opts.dir)
      const path = validatePath(pathArg)
      const { events } = await api.history(path, 1000)
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(events, null, 2)}\n`)
        return
      }
      if (events.length === 0) throw new CliError(`Nothing ever happened at ${path}`, EXIT.notFound)
      for (const e of events) {
        const size = e.kind === 'deleted' ? '' : bytes(e.size)
        process.stdout.write(
          `${e.committedAt}  v${String(e.version).padEnd(4)} ${size.padStart(10)}  ${describe(e, path)}  (device ${e.deviceId.slice(0, 8)})${keptNote(e)}\n`,
        )
      }
    })

  program
    .command('restore')
    .description('bring back an earlier version of a path (deleted or overwritten)')
    .argument('<path>', 'path in the account')
    .option('--at <time>', 'the moment to go back to (ISO 8601, e.g. 2026-12-03T14:00:00Z)')
    .option('-d, --dir <path>', DIR_OPTION)
    .action(async (pathArg: string, opts: { dir?: string; at?: string }) => {
      const { api } = await linked(opts.dir)
      const path = validatePath(pathArg)
      const at = opts.at === undefined ? undefined : new Date(opts.at)
      if (at && Number.isNaN(at.getTime()))
        throw new CliError(`--at ${opts.at} is not a time (use ISO 8601)`, EXIT.usage)
      process.stdout.write(`${await restore(api, path, at)}\n`)
    })
}
