/**
 * TypeBox validation with one change for query strings and path params: a number must be
 * written in decimal digits. TypeBox converts text with Number(), which takes `0x1`, `1.5`,
 * `1e3` and ` 7`; a cursor or limit written that way is refused, not reinterpreted.
 */
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from 'typebox'

const DECIMAL = /^-?(0|[1-9][0-9]*)$/

/** Names of the schema's top-level properties that are integers or numbers. */
function numericFields(schema: TSchema): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties
  if (!properties) return []
  return Object.entries(properties)
    .filter(([, s]) => s.type === 'integer' || s.type === 'number')
    .map(([name]) => name)
}

export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  const check = TypeBoxValidatorCompiler(route)
  if (route.httpPart !== 'querystring' && route.httpPart !== 'params') return check
  const fields = numericFields(route.schema)
  if (fields.length === 0) return check
  return (value) => {
    const given = value as Record<string, unknown> | undefined
    for (const field of fields) {
      const text = given?.[field]
      if (typeof text === 'string' && !DECIMAL.test(text)) {
        return {
          error: [
            {
              keyword: 'type',
              instancePath: `/${field}`,
              schemaPath: `#/properties/${field}/type`,
              params: {},
              message: 'must be an integer in decimal digits',
            },
          ],
        }
      }
    }
    return check(value)
  }
}
