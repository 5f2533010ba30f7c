-- Blob keys name the account that uploaded the bytes (blobs/blob-checks.ts, blobKeyOf), so
-- one account's PUTs can never be claimed by another for knowing their ids. A chunk row's
-- owner is the account whose key holds its bytes; null marks rows from before, whose bytes
-- sit under the bare chunk id.
ALTER TABLE chunks ADD COLUMN owner uuid;

-- An account domain's bytes are always its own account's; a shared domain's rows must say
-- whose upload they are (the store's insert does, see insertChunks).
CREATE FUNCTION chunk_owner_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.owner IS NULL THEN
    IF NEW.domain NOT LIKE 'account:%' THEN
      RAISE EXCEPTION 'chunk % of shared domain % needs an owner', NEW.id, NEW.domain;
    END IF;
    NEW.owner := substr(NEW.domain, 9)::uuid;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER chunk_owner_default BEFORE INSERT ON chunks
  FOR EACH ROW EXECUTE FUNCTION chunk_owner_default();
