/**
 * Device presence rows (migration 002): one per device with an open WebSocket on an
 * instance, renewed by that instance while open. Times are parameters, as everywhere.
 */
import type { Db } from './db.ts'

export interface PresenceRow {
  deviceId: string
  instanceId: string
  expiresAt: Date
}

/** Marks the device connected through the instance, and seen now. */
export async function markConnected(db: Db, row: PresenceRow & { now: Date }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO device_presence (device_id, instance_id, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (device_id, instance_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [row.deviceId, row.instanceId, row.expiresAt],
    )
    await tx.query('UPDATE devices SET last_seen_at = $2 WHERE id = $1', [row.deviceId, row.now])
  })
}

/** The device's last socket on the instance closed: seen now, no longer held there. */
export async function markDisconnected(
  db: Db,
  deviceId: string,
  instanceId: string,
  now: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('DELETE FROM device_presence WHERE device_id = $1 AND instance_id = $2', [
      deviceId,
      instanceId,
    ])
    await tx.query('UPDATE devices SET last_seen_at = $2 WHERE id = $1', [deviceId, now])
  })
}

/**
 * Renews every row of the instance (its sockets are still open), their seen-at and the
 * instance's own row (with the URL devices reach it at, when known), and clears lapsed
 * rows of instances that died. Answers the accounts whose devices those held, so their
 * devices can hear that they went offline.
 */
export async function renewInstance(
  db: Db,
  instanceId: string,
  now: Date,
  expiresAt: Date,
  url?: string,
): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('UPDATE device_presence SET expires_at = $2 WHERE instance_id = $1', [
      instanceId,
      expiresAt,
    ])
    const { rows } = await tx.query<{ accountId: string }>(
      `WITH gone AS (DELETE FROM device_presence WHERE expires_at <= $1 RETURNING device_id)
       SELECT DISTINCT d.account_id AS "accountId" FROM gone JOIN devices d ON d.id = gone.device_id`,
      [now],
    )
    await tx.query(
      `UPDATE devices SET last_seen_at = $2
       WHERE id IN (SELECT device_id FROM device_presence WHERE instance_id = $1)`,
      [instanceId, now],
    )
    if (url) {
      await tx.query(
        `INSERT INTO coordinator_instances (id, url, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, expires_at = EXCLUDED.expires_at`,
        [instanceId, url, expiresAt],
      )
    }
    await tx.query('DELETE FROM coordinator_instances WHERE expires_at <= $1', [now])
    return rows.map((r) => r.accountId)
  })
}

/** The URLs of the instances alive now, in URL order. */
export async function liveInstanceUrls(db: Db, now: Date): Promise<string[]> {
  const { rows } = await db.query<{ url: string }>(
    'SELECT DISTINCT url FROM coordinator_instances WHERE expires_at > $1 ORDER BY url',
    [now],
  )
  return rows.map((r) => r.url)
}

/** Forgets the instance (it is shutting down); answers the accounts it held devices of. */
export async function dropInstance(db: Db, instanceId: string): Promise<string[]> {
  await db.query('DELETE FROM coordinator_instances WHERE id = $1', [instanceId])
  const { rows } = await db.query<{ accountId: string }>(
    `WITH gone AS (DELETE FROM device_presence WHERE instance_id = $1 RETURNING device_id)
     SELECT DISTINCT d.account_id AS "accountId" FROM gone JOIN devices d ON d.id = gone.device_id`,
    [instanceId],
  )
  return rows.map((r) => r.accountId)
}

/** The account's devices with an unexpired presence row on any instance. */
export async function onlineDeviceIds(db: Db, accountId: string, now: Date): Promise<Set<string>> {
  const { rows } = await db.query<{ deviceId: string }>(
    `SELECT DISTINCT p.device_id AS "deviceId" FROM device_presence p
     JOIN devices d ON d.id = p.device_id
     WHERE d.account_id = $1 AND p.expires_at > $2`,
    [accountId, now],
  )
  return new Set(rows.map((r) => r.deviceId))
}
