import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { CloudsyncError } from './errors.ts'

/** A compiled schema: static type and runtime check from one definition. */
export interface Parser<T extends TSchema> {
  readonly schema: T
  check(value: unknown): value is Static<T>
  /** Returns the value typed, or throws INVALID_INPUT naming the first offending field. */
  parse(value: unknown): Static<T>
}

export function parser<T extends TSchema>(schema: T, what = 'message'): Parser<T> {
  const validator = Compile(schema)
  return {
    schema,
    check: (value): value is Static<T> => validator.Check(value),
    parse(value) {
      if (validator.Check(value)) return value as Static<T>
      const [first] = validator.Errors(value)
      const field = first ? describeField(first.instancePath, first.params) : '(root)'
      const reason = first?.message ?? 'does not match the schema'
      throw new CloudsyncError('INVALID_INPUT', `Invalid ${what}: ${field} ${reason}`, { field })
    },
  }
}

/** `/chunks/3/size` -> `chunks[3].size`; an extra property is named by itself. */
function describeField(instancePath: string, params: object): string {
  const parts = instancePath.split('/').filter(Boolean)
  const extra = (params as { additionalProperties?: string[] }).additionalProperties
  if (extra?.length) parts.push(extra[0]!)
  const required = (params as { requiredProperties?: string[] }).requiredProperties
  if (required?.length) parts.push(required[0]!)
  if (parts.length === 0) return '(root)'
  return parts
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('')
    .replace(/~1/g, '/')
    .replace(/~0/g, '~')
}
