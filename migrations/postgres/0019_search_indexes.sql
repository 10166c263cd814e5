-- Global search (issue 18, part 3) finds phones by contact address and by user agent across
-- every server, by prefix, served by an index: 270,000 registrations are never scanned. Both
-- keys are derived from what ingest already writes (generated columns), so ingest statements
-- do not change; the endpoint is searched through registrations_endpoint. The keys compare
-- byte by byte (COLLATE "C"), so a prefix is exactly an index range whatever the database's
-- collation.
--
-- contact_host: the contact's host part, lower case: what follows the '@' of a SIP URI
-- (sip:100-ACME@198.51.100.7:5060;ob -> 198.51.100.7:5060;ob), or what follows the scheme of a
-- URI without user, or the whole text (chan_sip's host:port); an IPv6 literal's '[' is dropped
-- so that its address is the prefix.
ALTER TABLE registrations ADD COLUMN contact_host TEXT COLLATE "C" GENERATED ALWAYS AS (
    lower(ltrim(CASE
        WHEN strpos(contact, '@') > 0 THEN substr(contact, strpos(contact, '@') + 1)
        WHEN lower(substr(contact, 1, 4)) = 'sip:' THEN substr(contact, 5)
        WHEN lower(substr(contact, 1, 5)) = 'sips:' THEN substr(contact, 6)
        ELSE contact
    END, '['))
) STORED;
ALTER TABLE registrations ADD COLUMN user_agent_key TEXT COLLATE "C" GENERATED ALWAYS AS (lower(user_agent)) STORED;
CREATE INDEX registrations_contact_host ON registrations(contact_host);
CREATE INDEX registrations_user_agent_key ON registrations(user_agent_key);
