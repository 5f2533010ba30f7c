-- Proof of possession (global dedup domain): the challenges an upload session was issued,
-- one per distinct chunk the account had no access to, at the chunk's first index. The
-- nonce and range are remembered so the answer is checked against what was asked.
CREATE TABLE session_challenges (
  session_id uuid NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
  idx integer NOT NULL,
  chunk_id text NOT NULL,
  nonce text NOT NULL,
  range_offset bigint NOT NULL CHECK (range_offset >= 0),
  range_length integer NOT NULL CHECK (range_length > 0),
  PRIMARY KEY (session_id, idx)
);

-- Blob keys are bare chunk ids shared by every domain, so the collector asks "does any
-- domain still index this id?" (and dedup asks "is it indexed elsewhere?") by id alone.
CREATE INDEX chunks_by_id ON chunks (id);

-- When the collector removed the bytes an expired session's device may have PUT without
-- the index ever hearing of them. NULL on an expired session: not swept yet.
ALTER TABLE upload_sessions ADD COLUMN swept_at timestamptz;
CREATE INDEX upload_sessions_unswept ON upload_sessions (expires_at)
  WHERE state = 'expired' AND swept_at IS NULL;
