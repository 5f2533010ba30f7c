import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Gc = (options: { type: 'minor' | 'major'; execution: 'sync' }) => void

/** `gc` is reachable only through the flag; set at run time, it shows in a new context. */
function exposedGc(): Gc {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as Gc
}

/**
 * A synchronous young-generation collection, for code whose garbage is mostly array
 * buffers living outside the JavaScript heap (chunk bytes): V8 collects those late, so
 * the callers ask for a cheap minor collection at the moments they know buffers died.
 */
export function youngGenerationCollector(): () => void {
  const gc = exposedGc()
  return () => gc({ type: 'minor', execution: 'sync' })
}

/** A synchronous full collection: the backstop for buffers that outlived young ones. */
export function fullCollector(): () => void {
  const gc = exposedGc()
  return () => gc({ type: 'major', execution: 'sync' })
}
