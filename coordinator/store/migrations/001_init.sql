-- The coordinator's metadata. Everything an account owns carries account_id; every time
-- is a parameter from the application (not now()), so tests and replays are deterministic.

CREATE TABLE accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL,
  -- The last change sequence number handed out. Bumped under this row's lock inside the
  -- committing transaction, so numbers are gapless and in commit order (see changes).
  last_seq bigint NOT NULL DEFAULT 0
);

CREATE TABLE devices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts (id),
  name text NOT NULL,
  peer_id text,
  -- SHA-256 of the bearer credential; the credential itself is never stored.
  credential_hash text NOT NULL UNIQUE,
  addresses jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX devices_by_account ON devices (account_id);

CREATE TABLE link_tokens (
  token_hash text PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  created_by_device uuid REFERENCES devices (id),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

-- A file is a stable id that points at a path and at its current version. Content lives
-- in file_versions, which is append-only: nothing committed is ever lost.
CREATE TABLE files (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts (id),
  -- Byte order, so keyset pagination and prefix ranges agree with the index.
  path text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  -- Last change of any kind (write, move, delete).
  updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX files_live_path ON files (account_id, path) WHERE NOT deleted;
CREATE INDEX files_deleted_path ON files (account_id, path, updated_at) WHERE deleted;

CREATE TABLE file_versions (
  file_id uuid NOT NULL REFERENCES files (id),
  version integer NOT NULL,
  -- The dedup domain of the manifest's chunks ('account:<uuid>' or 'global').
  domain text NOT NULL,
  size bigint NOT NULL,
  hash text NOT NULL,
  manifest jsonb NOT NULL,
  -- The device that wrote this content, and when (conflict copies are named after both).
  device_id uuid NOT NULL REFERENCES devices (id),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (file_id, version)
);

-- Chunks whose bytes are in the blob store. refcount = the number of file versions whose
-- manifest names the chunk; zero_since says how long a chunk has been unreferenced.
CREATE TABLE chunks (
  domain text NOT NULL,
  id text NOT NULL,
  cipher_size bigint NOT NULL,
  refcount integer NOT NULL DEFAULT 0 CHECK (refcount >= 0),
  zero_since timestamptz,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (domain, id),
  CHECK ((refcount = 0) = (zero_since IS NOT NULL))
);
CREATE INDEX chunks_unreferenced ON chunks (zero_since) WHERE refcount = 0;

-- Accounts that proved they hold a chunk's bytes. In a global domain, knowing a chunk id
-- is not enough to reference it (the "Dropship" attack).
CREATE TABLE chunk_access (
  domain text NOT NULL,
  chunk_id text NOT NULL,
  account_id uuid NOT NULL REFERENCES accounts (id),
  PRIMARY KEY (domain, chunk_id, account_id),
  FOREIGN KEY (domain, chunk_id) REFERENCES chunks (domain, id) ON DELETE CASCADE
);

CREATE TABLE upload_sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts (id),
  device_id uuid NOT NULL REFERENCES devices (id),
  domain text NOT NULL,
  path text COLLATE "C" NOT NULL,
  -- The version the upload was based on; both null for a new file. base_file_id is
  -- optional: with it, a file deleted and re-created at the same path is not mistaken
  -- for the base.
  base_file_id uuid,
  base_version integer,
  manifest jsonb NOT NULL,
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'committed', 'expired')),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  -- The commit's answer, returned again when the same session is completed twice.
  result jsonb,
  CHECK (base_file_id IS NULL OR base_version IS NOT NULL),
  CHECK ((state = 'committed') = (result IS NOT NULL))
);
CREATE INDEX upload_sessions_open ON upload_sessions (expires_at) WHERE state = 'open';

-- A session's chunks, one row per manifest index. Whether a chunk is present is not a
-- flag here but the existence of its chunks row (and access, in a global domain), so a
-- chunk collected after the session began reads as missing again.
CREATE TABLE session_chunks (
  session_id uuid NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
  idx integer NOT NULL,
  chunk_id text NOT NULL,
  cipher_size bigint NOT NULL,
  PRIMARY KEY (session_id, idx)
);
CREATE INDEX session_chunks_by_chunk ON session_chunks (chunk_id);

-- The per-account change log that devices read through cursors. Size, hash and manifest
-- come from file_versions (file_id, version), so a manifest is stored once.
CREATE TABLE changes (
  account_id uuid NOT NULL REFERENCES accounts (id),
  seq bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('created', 'modified', 'deleted', 'moved')),
  file_id uuid NOT NULL REFERENCES files (id),
  path text NOT NULL,
  from_path text,
  version integer NOT NULL,
  device_id uuid NOT NULL REFERENCES devices (id),
  committed_at timestamptz NOT NULL,
  -- For a conflict copy: {fileId, version, path} of the version it preserves.
  conflict_of jsonb,
  PRIMARY KEY (account_id, seq)
);
