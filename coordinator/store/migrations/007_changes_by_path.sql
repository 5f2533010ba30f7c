-- A path's history (store/history.ts) reads the changes that wrote, moved or deleted it,
-- newest first, without walking the whole account's log.
CREATE INDEX changes_by_path ON changes (account_id, path, seq);
CREATE INDEX changes_by_from_path ON changes (account_id, from_path, seq) WHERE from_path IS NOT NULL;
