/**
 * What the users did, as the checks need it: every content a user wrote (each one unique:
 * a header names the step, and edits change random bytes), which device wrote it over
 * what, and which contents a user knowingly replaced or deleted. Plus the trace.
 */
import { createHash } from 'node:crypto'
import { EPOCH_MS } from './clock.ts'

export const plainHash = (bytes: Uint8Array): string =>
  createHash('sha256').update(bytes).digest('hex')

export const EMPTY = plainHash(new Uint8Array(0))

export interface UserWrite {
  device: string
  path: string
  step: number
  /** What the writing device held at the path just before: its user saw that. */
  before: string | undefined
}

export class History {
  /** Every content a user wrote, by plain SHA-256. */
  readonly contents = new Map<string, Uint8Array>()
  readonly writes = new Map<string, UserWrite>()
  /** Contents a user overwrote or deleted while seeing them: nobody owes them a place. */
  readonly killed = new Set<string>()
  readonly trace: string[] = []
  readonly #keep: boolean

  constructor(keepTrace: boolean) {
    this.#keep = keepTrace
    this.contents.set(EMPTY, new Uint8Array(0))
  }

  note(at: number, line: string): void {
    if (this.#keep) this.trace.push(`${((at - EPOCH_MS) / 1000).toFixed(3).padStart(8)}s ${line}`)
  }

  /** A line outside time (the change log, read at the end). */
  line(text: string): void {
    if (this.#keep) this.trace.push(text)
  }

  wrote(bytes: Uint8Array, write: UserWrite): string {
    const hash = plainHash(bytes)
    if (write.before !== undefined && write.before !== hash) this.killed.add(write.before)
    if (!this.contents.has(hash)) {
      this.contents.set(hash, bytes.slice())
      this.writes.set(hash, write)
    }
    return hash
  }

  removed(before: string): void {
    this.killed.add(before)
  }
}
