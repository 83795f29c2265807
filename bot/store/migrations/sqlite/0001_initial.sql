-- Schema version 1. Applied in one transaction by bot/store/migrations/sqlite, which then sets
-- PRAGMA user_version = 1. Never edit a released migration: add 0002_*.sql instead.
--
-- What is stored, and nothing more: server settings, member preferences under a keyed
-- pseudonym (HMAC-SHA256 of the user id; the raw id is never stored) and usage counts per
-- UTC day. No user ids, message ids, message content, free text or times finer than a day.

-- Marks the file as ours ("RBOT"), so a foreign SQLite database is recognised and left alone.
PRAGMA application_id = 1380077396;

CREATE TABLE guild_settings (
    guild_id          INTEGER PRIMARY KEY,
    region            TEXT CHECK (region IS NULL OR length(region) BETWEEN 2 AND 6),
    crisis_replies    INTEGER NOT NULL DEFAULT 1 CHECK (crisis_replies IN (0, 1)),
    reply_mode        TEXT    NOT NULL DEFAULT 'channel'
                              CHECK (reply_mode IN ('channel', 'dm', 'both')),
    alert_channel_id  INTEGER,
    alert_role_id     INTEGER,
    cooldown_minutes  INTEGER NOT NULL DEFAULT 30 CHECK (cooldown_minutes BETWEEN 1 AND 1440)
);

CREATE TABLE guild_ignored_channels (
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
) WITHOUT ROWID;

CREATE TABLE guild_bypass_roles (
    guild_id  INTEGER NOT NULL,
    role_id   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, role_id)
) WITHOUT ROWID;

CREATE TABLE member_prefs (
    pseudonym       TEXT PRIMARY KEY CHECK (length(pseudonym) = 64),
    crisis_replies  INTEGER NOT NULL DEFAULT 1 CHECK (crisis_replies IN (0, 1)),
    dm_country      TEXT CHECK (dm_country IS NULL OR length(dm_country) BETWEEN 2 AND 6)
) WITHOUT ROWID;

-- guild_id is 0 for DMs: SQLite treats NULLs as distinct in a primary key, which would
-- break the per-day upsert.
CREATE TABLE usage_daily (
    day       TEXT    NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    guild_id  INTEGER NOT NULL,
    kind      TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),
    key       TEXT    NOT NULL DEFAULT '' CHECK (length(key) <= 64),
    outcome   TEXT    NOT NULL DEFAULT 'ok' CHECK (length(outcome) BETWEEN 1 AND 32),
    count     INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, guild_id, kind, key, outcome)
) WITHOUT ROWID;

CREATE INDEX usage_daily_by_guild ON usage_daily (guild_id, day);
