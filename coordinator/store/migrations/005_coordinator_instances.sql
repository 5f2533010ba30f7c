-- The coordinator instances of a deployment and where devices reach them: a device that
-- loses its instance moves to another from this list (GET /coordinators). Each instance
-- renews its row on the presence heartbeat; a killed instance's row lapses on its own.
CREATE TABLE coordinator_instances (
  id text PRIMARY KEY,
  url text NOT NULL,
  expires_at timestamptz NOT NULL
);
