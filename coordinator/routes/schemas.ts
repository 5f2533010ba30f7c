/** Response schemas every authenticated route shares, for validation docs and OpenAPI. */
import { ErrorBody } from '../../protocol/schemas/common.ts'

/** The error answers a device route may give (errors plugin). */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  410: ErrorBody,
  413: ErrorBody,
  422: ErrorBody,
} as const

export const deviceSecurity = [{ device: [] }]
