/**
 * Users at work: a step of the plan applied to a device's folder, as an editor or a file
 * manager would (writes in place, renames, deletes), recorded in the history. A step
 * whose target does not exist (any more) is skipped and says so.
 */
import type { SimDevice } from './device.ts'
import { type History, plainHash } from './history.ts'
import { Rng } from './rng.ts'
import type { Op } from './workload.ts'

export interface ActionContext {
  devices: SimDevice[]
  history: History
  step: number
  seed: number
  now: number
}

type FileOp = Extract<Op, { device: number }>

/** Applies a file step; answers what happened, or undefined when it did not apply. */
export async function applyUserOp(op: FileOp, ctx: ActionContext): Promise<string | undefined> {
  const device = ctx.devices[op.device]
  if (!device) return undefined
  const { fs } = device
  const files: string[] = []
  for await (const { path } of fs.list()) files.push(path)
  const picked =
    'pick' in op && files.length > 0 ? files[Math.floor(op.pick * files.length)] : undefined
  const rng = new Rng((ctx.seed * 7919 + ctx.step * 104_729) >>> 0)
  const write = (path: string, bytes: Uint8Array) => {
    const before = fs.readFile(path)
    fs.writeFile(path, bytes)
    const hash = ctx.history.wrote(bytes, {
      device: device.name,
      path,
      step: ctx.step,
      before: before && plainHash(before),
    })
    return `${path} = ${hash.slice(0, 8)} (${bytes.length} B, was ${before ? plainHash(before).slice(0, 8) : 'absent'})`
  }
  const fresh = (size: number) => content(rng, ctx.step, device.name, size)
  try {
    switch (op.kind) {
      case 'write':
        return `write ${write(op.path, fresh(op.size))}`
      case 'append': {
        const old = picked && fs.readFile(picked)
        if (!picked || !old) return undefined
        return `append ${write(picked, concat(old, randomBytes(rng, Math.max(4, op.size))))}`
      }
      case 'edit': {
        const old = picked && fs.readFile(picked)
        if (!picked || !old || old.length === 0) return undefined
        const bytes = old.slice()
        const at = Math.floor(op.at * bytes.length)
        const patch = randomBytes(rng, Math.min(op.size, bytes.length - at))
        bytes.set(patch, at)
        // Never the same bytes again: an edit that changes nothing is no edit.
        bytes[at] = bytes[at]! ^ (old[at] === bytes[at] ? 0xff : 0)
        return `edit ${write(picked, bytes)}`
      }
      case 'delete': {
        const old = picked && fs.readFile(picked)
        if (!picked || !old) return undefined
        fs.deleteFile(picked)
        ctx.history.removed(plainHash(old))
        return `delete ${picked}`
      }
      case 'rename': {
        if (!picked || picked === op.to) return undefined
        return (await fs.rename(picked, op.to)) ? `rename ${picked} -> ${op.to}` : undefined
      }
      case 'rename-case': {
        if (!picked) return undefined
        const name = picked.split('/').pop()!
        const first = name[0]!
        const flipped = first === first.toUpperCase() ? first.toLowerCase() : first.toUpperCase()
        if (flipped === first) return undefined
        const to = picked.slice(0, picked.length - name.length) + flipped + name.slice(1)
        return (await fs.rename(picked, to)) ? `rename ${picked} -> ${to}` : undefined
      }
      case 'rename-folder': {
        const folders = [...new Set(files.flatMap(parentsOf))].sort()
        const from = folders.length > 0 ? folders[Math.floor(op.pick * folders.length)]! : undefined
        if (!from || from === op.to || op.to.startsWith(`${from}/`)) return undefined
        const inside = files.filter((f) => f.startsWith(`${from}/`))
        const targets = inside.map((f) => op.to + f.slice(from.length))
        if (targets.some((t) => files.includes(t) || parentsOf(t).some((p) => files.includes(p))))
          return undefined
        // One rename of the folder: every file moves before anyone looks.
        for (const [i, f] of inside.entries()) await fs.rename(f, targets[i]!)
        return `rename folder ${from} -> ${op.to} (${inside.length} files)`
      }
      case 'file-to-folder': {
        const old = picked && fs.readFile(picked)
        if (!picked || !old) return undefined
        fs.deleteFile(picked)
        ctx.history.removed(plainHash(old))
        return `replace file ${picked} by a folder: ${write(`${picked}/inner`, fresh(op.size))}`
      }
      case 'folder-to-file': {
        const folder = picked?.includes('/') ? picked.slice(0, picked.lastIndexOf('/')) : undefined
        if (!folder) return undefined
        const inside = files.filter((f) => f.startsWith(`${folder}/`))
        for (const f of inside) {
          const old = fs.readFile(f)
          if (old) ctx.history.removed(plainHash(old))
        }
        fs.deleteTree(folder)
        return `replace folder ${folder} (${inside.length} files) by a file: ${write(folder, fresh(op.size))}`
      }
      default:
        return undefined
    }
  } catch (err) {
    // A path the folder refuses (a file where a folder is needed): the user could not.
    return `refused ${op.kind}: ${(err as Error).message}`
  }
}

function parentsOf(path: string): string[] {
  const parts = path.split('/')
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'))
}

/** Unique content: a header naming the step and device, then seeded bytes. */
function content(rng: Rng, step: number, device: string, size: number): Uint8Array {
  if (size === 0) return new Uint8Array(0)
  const header = new TextEncoder().encode(`#${step}@${device}#`)
  return concat(header, randomBytes(rng, Math.max(0, size - header.length))).subarray(
    0,
    Math.max(size, header.length),
  )
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng.next() * 256)
  return out
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
