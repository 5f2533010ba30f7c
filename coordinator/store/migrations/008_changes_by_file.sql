-- A snapshot (store/snapshot.ts) reads each file's last change up to a cursor, file by
-- file, in file id order, without walking the whole account's log for every page.
CREATE INDEX changes_by_file ON changes (account_id, file_id, seq);
