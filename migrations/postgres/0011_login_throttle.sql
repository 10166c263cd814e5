-- Login throttling as one counter per key (a user name or a client address) in a fixed window
-- that opens at the key's first attempt. An attempt is counted by one atomic
-- INSERT … ON CONFLICT DO UPDATE … RETURNING before the password hash is checked, so concurrent
-- guesses each see their own count. The list of failures this replaces was read and written by
-- separate statements: 30 guesses sent at once were all checked.
CREATE TABLE login_throttle (
    key           TEXT    PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    attempts      BIGINT NOT NULL
);
CREATE INDEX login_throttle_window ON login_throttle(window_start);

-- The failures of the last 15 minutes carry over, so a lockout in progress survives the upgrade.
INSERT INTO login_throttle (key, window_start, attempts)
SELECT key, MIN(at), COUNT(*) FROM login_failures
WHERE at > CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) - 900
GROUP BY key;

DROP TABLE login_failures;
