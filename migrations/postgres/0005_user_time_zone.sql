-- Each user's time zone (IANA name); pages show times in it. NULL: UTC.
ALTER TABLE users ADD COLUMN time_zone TEXT;
