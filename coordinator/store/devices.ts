import type { Db } from './db.ts'
import { json } from './db.ts'
import { hashSecret, newSecret } from './secrets.ts'

export interface Device {
  id: string
  accountId: string
  name: string
  /** The libp2p peer id, once the device has one. */
  peerId: string | null
  /** Multiaddrs where peers may reach the device. */
  addresses: string[]
  createdAt: Date
  lastSeenAt: Date | null
  revokedAt: Date | null
}

const COLUMNS = `id, account_id AS "accountId", name, peer_id AS "peerId", addresses,
  created_at AS "createdAt", last_seen_at AS "lastSeenAt", revoked_at AS "revokedAt"`

export interface NewDevice {
  accountId: string
  name: string
  peerId?: string
  now: Date
}

/**
 * Registers a device and returns its bearer credential. This is the only time the
 * credential exists outside the device: the store keeps its hash.
 */
export async function createDevice(
  db: Db,
  d: NewDevice,
): Promise<{ device: Device; credential: string }> {
  const credential = newSecret()
  const { rows } = await db.query<Device>(
    `INSERT INTO devices (account_id, name, peer_id, credential_hash, created_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [d.accountId, d.name, d.peerId ?? null, hashSecret(credential), d.now],
  )
  return { device: rows[0]!, credential }
}

export async function getDevice(db: Db, id: string): Promise<Device | undefined> {
  const { rows } = await db.query<Device>(`SELECT ${COLUMNS} FROM devices WHERE id = $1`, [id])
  return rows[0]
}

/** The device a bearer credential belongs to, unless it is unknown or revoked. */
export function getDeviceByCredential(db: Db, credential: string): Promise<Device | undefined> {
  return getDeviceByCredentialHash(db, hashSecret(credential))
}

/** getDeviceByCredential, for a caller that has hashed the credential already. */
export async function getDeviceByCredentialHash(
  db: Db,
  credentialHash: string,
): Promise<Device | undefined> {
  const { rows } = await db.query<Device>(
    `SELECT ${COLUMNS} FROM devices WHERE credential_hash = $1 AND revoked_at IS NULL`,
    [credentialHash],
  )
  return rows[0]
}

/** The account's devices that are not revoked, oldest first. */
export async function listDevices(db: Db, accountId: string): Promise<Device[]> {
  const { rows } = await db.query<Device>(
    `SELECT ${COLUMNS} FROM devices WHERE account_id = $1 AND revoked_at IS NULL
     ORDER BY created_at, id`,
    [accountId],
  )
  return rows
}

/** Revokes a device of the account; false if there is no such device or it was revoked. */
export async function revokeDevice(
  db: Db,
  accountId: string,
  deviceId: string,
  now: Date,
): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE devices SET revoked_at = $3 WHERE id = $2 AND account_id = $1 AND revoked_at IS NULL
     RETURNING id`,
    [accountId, deviceId, now],
  )
  return rows.length > 0
}

export interface Presence {
  now: Date
  /** Replaces the stored addresses when given. */
  addresses?: string[]
  peerId?: string
}

/** Records that the device was seen, and where peers can reach it now. */
export async function updatePresence(db: Db, deviceId: string, p: Presence): Promise<void> {
  await db.query(
    `UPDATE devices SET last_seen_at = $2,
       addresses = COALESCE($3::jsonb, addresses),
       peer_id = COALESCE($4, peer_id)
     WHERE id = $1`,
    [deviceId, p.now, p.addresses ? json(p.addresses) : null, p.peerId ?? null],
  )
}
