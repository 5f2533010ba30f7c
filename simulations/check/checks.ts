/**
 * The invariants every run must keep, checked once the devices have settled (and, for
 * half-written files, after every step). Each returns the broken promises it found, in
 * words a reader of the trace can follow.
 */
import type { CoordinatorApi } from '../../peer/index.ts'
import type { FileSummary } from '../../protocol/schemas/files.ts'
import type { Change } from '../../protocol/schemas/sync.ts'
import type { SimDevice } from './device.ts'
import { EMPTY, type History, plainHash } from './history.ts'

export type Tree = Map<string, string>

export async function treeOf(device: SimDevice): Promise<Tree> {
  const tree: Tree = new Map()
  for await (const { path } of device.fs.list())
    tree.set(path, plainHash(device.fs.readFile(path)!))
  return tree
}

export const short = (hash: string | undefined) => (hash ? hash.slice(0, 8) : 'absent')

/** No file is ever half-written under its real name: every file holds a content some user wrote whole. */
export async function checkWholeFiles(devices: SimDevice[], history: History): Promise<string[]> {
  const broken: string[] = []
  for (const device of devices) {
    for (const [path, hash] of await treeOf(device)) {
      if (!history.contents.has(hash))
        broken.push(`${device.name}: ${path} holds ${short(hash)}, which no user wrote whole`)
    }
  }
  return broken
}

/** Every device converges to the same tree, which is the coordinator's live file set. */
export async function checkConverged(devices: SimDevice[], live: FileSummary[]): Promise<string[]> {
  const broken: string[] = []
  const first = await treeOf(devices[0]!)
  for (const device of devices.slice(1)) {
    const tree = await treeOf(device)
    for (const path of new Set([...first.keys(), ...tree.keys()])) {
      if (first.get(path) !== tree.get(path))
        broken.push(
          `${devices[0]!.name} and ${device.name} differ at ${path}: ${short(first.get(path))} vs ${short(tree.get(path))}`,
        )
    }
  }
  for (const device of devices) {
    const tree = await treeOf(device)
    const paths = new Set(live.map((f) => f.path))
    for (const path of tree.keys())
      if (!paths.has(path))
        broken.push(`${device.name} has ${path}, which the coordinator does not`)
    for (const file of live) {
      const entry = device.index.getFile(file.path)
      if (!tree.has(file.path)) broken.push(`${device.name} lacks ${file.path}`)
      else if (entry?.contentHash !== file.hash)
        broken.push(`${device.name} holds another version of ${file.path} than the coordinator's`)
    }
  }
  return broken
}

/**
 * No write is lost: every content a user wrote is still somewhere once the devices have
 * settled (at its path, moved, or as a conflict copy), unless a user replaced or deleted
 * it knowingly. Stronger than "every committed write": a write that never got committed
 * (overwritten by a remote change before its upload) counts too.
 */
export function checkNoLostWrites(
  log: Change[],
  final: Tree,
  history: History,
  plainOf: Map<string, string>,
): string[] {
  const present = new Set(final.values())
  const committedAs = new Map<string, Change>()
  for (const change of log) {
    const plain = plainOf.get(change.hash)
    if (plain && !committedAs.has(plain)) committedAs.set(plain, change)
  }
  const broken: string[] = []
  for (const [plain, w] of history.writes) {
    if (plain === EMPTY || history.killed.has(plain) || present.has(plain)) continue
    const change = committedAs.get(plain)
    const fate = change ? `committed as change ${change.seq} at ${change.path}` : 'never committed'
    broken.push(
      `write lost: ${short(plain)} (step ${w.step} on ${w.device} at ${w.path}), ${fate}, is on no device`,
    )
  }
  return broken
}

/** The log is gapless, and every device's cursor stands at its end. */
export function checkCursors(log: Change[], devices: SimDevice[]): string[] {
  const broken: string[] = []
  log.forEach((change, i) => {
    if (change.seq !== i + 1)
      broken.push(`change log skips: position ${i + 1} holds seq ${change.seq}`)
  })
  for (const device of devices) {
    const cursor = Number(device.index.get('cursor') ?? 0)
    if (cursor !== log.length)
      broken.push(`${device.name}'s cursor is ${cursor}, the log ends at ${log.length}`)
  }
  return broken
}

/** No chunk of a live version was collected: each one still downloads. */
export async function checkChunksStored(
  api: CoordinatorApi,
  live: FileSummary[],
): Promise<string[]> {
  const broken: string[] = []
  for (const file of live) {
    const download = await api.download(file.fileId)
    for (const chunk of download.chunks) {
      try {
        await api.fetchChunk(chunk.url)
      } catch (err) {
        broken.push(
          `chunk ${chunk.index} of ${file.path} (v${file.version}) is gone: ${(err as Error).message}`,
        )
      }
    }
  }
  return broken
}

/**
 * A conflict copy keeps a version its displacer never saw. If the device whose write
 * displaced it had that very content at the path when its user wrote, the write was not
 * concurrent with it, and the copy is spurious.
 */
export function checkConflictCopies(
  log: Change[],
  history: History,
  plainOf: Map<string, string>,
): string[] {
  const broken: string[] = []
  for (const copy of log) {
    if (!copy.conflictOf) continue
    const displaced = plainOf.get(copy.hash)
    const displacer = log.find((c) => c.seq > copy.seq && c.path === copy.conflictOf!.path)
    const plain = displacer && plainOf.get(displacer.hash)
    // Empty files are alike whoever wrote them: whose empty file the copy keeps, and which
    // write displaced it, cannot be told.
    if (displaced === EMPTY || plain === EMPTY) continue
    const write = plain ? history.writes.get(plain) : undefined
    if (displaced && write && write.before === displaced && write.path === copy.conflictOf.path) {
      broken.push(
        `conflict copy ${copy.path} (change ${copy.seq}) keeps ${short(displaced)}, which ${write.device} had at ${write.path} when its user wrote ${short(plain)} (step ${write.step}): no concurrent write`,
      )
    }
  }
  return broken
}
