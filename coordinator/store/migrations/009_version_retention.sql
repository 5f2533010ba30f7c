-- The undelete window (docs/DESIGN.md "Version retention"). A version is retired when it
-- stops being its file's live content: a newer version replaced it, or the file was
-- deleted. Retired versions stay restorable for VERSION_RETENTION_DAYS; after that the
-- collector prunes them (pruned_at) and releases their chunk references, so the chunks
-- follow once nothing else references them. The row itself stays: the change log and the
-- history still name it.
ALTER TABLE file_versions ADD COLUMN retired_at timestamptz;
ALTER TABLE file_versions ADD COLUMN pruned_at timestamptz;

-- What the collector looks for: retired, not yet pruned, oldest first.
CREATE INDEX file_versions_retired ON file_versions (retired_at)
  WHERE retired_at IS NOT NULL AND pruned_at IS NULL;

-- Every write of files.version or files.deleted passes here, whatever statement makes it
-- (commit_upload, deleteFile): updated_at is the commit's time, from the caller's clock.
CREATE FUNCTION retire_file_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version <> OLD.version OR NEW.deleted <> OLD.deleted THEN
    UPDATE file_versions SET retired_at = NEW.updated_at
      WHERE file_id = NEW.id AND retired_at IS NULL
        AND (version <> NEW.version OR NEW.deleted);
    -- A file back from deletion at the same version: its content is live again.
    UPDATE file_versions SET retired_at = NULL
      WHERE file_id = NEW.id AND version = NEW.version AND NOT NEW.deleted
        AND retired_at IS NOT NULL AND pruned_at IS NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER files_retire_versions AFTER UPDATE OF version, deleted ON files
  FOR EACH ROW EXECUTE FUNCTION retire_file_versions();

-- Versions retired before this migration: retired no later than the file's last update.
UPDATE file_versions v SET retired_at = f.updated_at FROM files f
  WHERE f.id = v.file_id AND (v.version <> f.version OR f.deleted);
