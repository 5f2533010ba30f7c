-- Which coordinator instance holds an open WebSocket of which device (docs/DESIGN.md "Peers": devices
-- are online while connected to any instance). One row per (device, instance); the
-- instance renews `expires_at` while the socket is open and deletes the row on close, so
-- the row of an instance that died without closing (kill -9) lapses on its own.
CREATE TABLE device_presence (
  device_id uuid NOT NULL REFERENCES devices (id),
  instance_id text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (device_id, instance_id)
);
CREATE INDEX device_presence_by_instance ON device_presence (instance_id);
