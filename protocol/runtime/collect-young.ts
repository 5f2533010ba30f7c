import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * A synchronous young-generation collection, for code whose garbage is mostly array
 * buffers living outside the JavaScript heap (chunk bytes): V8 collects those late, so
 * the callers ask for a cheap minor collection at the moments they know buffers died.
 * `gc` is reachable only through the flag; set at run time, it shows in a new context.
 */
export function youngGenerationCollector(): () => void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as (options: { type: 'minor'; execution: 'sync' }) => void
  return () => gc({ type: 'minor', execution: 'sync' })
}
