/**
 * Devices: `POST /devices` links one with a link token (no credential yet, so no auth);
 * the rest need a device credential and act on the caller's account only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { CloudsyncError } from '../../../protocol/errors.ts'
import {
  DeviceList,
  DeviceParams,
  InviteResponse,
  LinkDeviceRequest,
  LinkDeviceResponse,
  RenewCertificateResponse,
  UpdateAddressesRequest,
} from '../../../protocol/schemas/devices.ts'
import { linkDevice, renewCertificate } from '../../services/devices.ts'
import { revokeDevice, updatePresence } from '../../store/devices.ts'
import { createLinkToken } from '../../store/link-tokens.ts'
import { deviceSecurity, errorResponses } from '../schemas.ts'

const NoContent = Type.Null()

export const deviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Link a device with a link token: answers its credential and certificate',
        body: LinkDeviceRequest,
        response: { 201: LinkDeviceResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      reply.code(201)
      return linkDevice(app, request.body)
    },
  )

  await app.register(authedDeviceRoutes)
}

/** The routes of a linked device: its own account's devices only. */
const authedDeviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate)
  const common = { tags: ['devices'], security: deviceSecurity }
  // The account's other devices hear of an unlinked device or new addresses at once. The
  // change is stored either way; a failed announcement only costs them a later refresh.
  const announce = (accountId: string) =>
    app.presence.announce(accountId).catch((err) => app.log.warn({ err }, 'devices not announced'))

  app.get(
    '/devices',
    {
      schema: {
        ...common,
        summary: "The account's devices, their peer ids, addresses and presence",
        response: { 200: DeviceList, ...errorResponses },
      },
    },
    async (request) => ({ devices: await app.presence.list(request.device.accountId) }),
  )

  app.delete(
    '/devices/:deviceId',
    {
      schema: {
        ...common,
        summary: 'Unlink a device: its credential stops working at once',
        params: DeviceParams,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { deviceId } = request.params
      const revoked = await revokeDevice(app.db, request.device.accountId, deviceId, app.now())
      if (!revoked) throw new CloudsyncError('NOT_FOUND', `No linked device ${deviceId}`)
      await app.forgetDevice(deviceId)
      await announce(request.device.accountId)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/devices/self/certificate',
    {
      schema: {
        ...common,
        summary: "A fresh certificate for the caller's peer id (certificates expire)",
        response: { 200: RenewCertificateResponse, ...errorResponses },
      },
    },
    async (request) => ({ certificate: await renewCertificate(app, request.device.deviceId) }),
  )

  app.post(
    '/devices/invite',
    {
      schema: {
        ...common,
        summary: 'A fresh single-use, expiring link token to invite another device',
        response: { 201: InviteResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { token, expiresAt } = await createLinkToken(app.db, {
        accountId: request.device.accountId,
        createdByDevice: request.device.deviceId,
        now: app.now(),
        ttlMs: app.config.linkTokenTtlMs,
      })
      reply.code(201)
      return { token, expiresAt: expiresAt.toISOString() }
    },
  )

  app.put(
    '/devices/self/addresses',
    {
      schema: {
        ...common,
        summary: "The caller's current listen multiaddrs, for its peers",
        body: UpdateAddressesRequest,
        response: { 204: NoContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await updatePresence(app.db, request.device.deviceId, {
        now: app.now(),
        addresses: request.body.addresses,
      })
      await announce(request.device.accountId)
      return reply.code(204).send(null)
    },
  )
}
