/**
 * JSON bodies must be valid UTF-8. Node's decoder turns invalid bytes into U+FFFD, so a
 * path sent with them was stored lossily under another name; here they are refused, with
 * Fastify's own parser (prototype-poisoning checks included) doing the rest.
 */
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { CloudsyncError } from '../../protocol/errors.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

export const utf8JsonPlugin = fp(async (app: FastifyInstance) => {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string
    try {
      text = utf8.decode(body as Buffer)
    } catch {
      done(new CloudsyncError('INVALID_INPUT', 'Body is not valid UTF-8'), undefined)
      return
    }
    parseJson(request, text, done)
  })
})
