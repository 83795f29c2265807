-- Schema version 1 for PostgreSQL: the same tables and columns as sqlite/0001_initial.sql.
-- Applied in one transaction by bot/store/migrations/postgresql, which records the version
-- in recovery_bot_schema. Never edit a released migration: add 0002_*.sql instead.
--
-- What is stored, and nothing more: server settings, member preferences under a keyed
-- pseudonym (HMAC-SHA256 of the user id; the raw id and the key are never stored) and usage
-- counts per UTC day. No user ids, message ids, message content, free text or times finer
-- than a day.

CREATE TABLE guild_settings (
    guild_id          BIGINT PRIMARY KEY,
    region            TEXT CHECK (region IS NULL OR length(region) BETWEEN 2 AND 6),
    crisis_replies    BOOLEAN NOT NULL DEFAULT TRUE,
    reply_mode        TEXT    NOT NULL DEFAULT 'channel'
                              CHECK (reply_mode IN ('channel', 'dm', 'both')),
    alert_channel_id  BIGINT,
    alert_role_id     BIGINT,
    cooldown_minutes  INTEGER NOT NULL DEFAULT 30 CHECK (cooldown_minutes BETWEEN 1 AND 1440)
);

CREATE TABLE guild_ignored_channels (
    guild_id    BIGINT NOT NULL,
    channel_id  BIGINT NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE guild_bypass_roles (
    guild_id  BIGINT NOT NULL,
    role_id   BIGINT NOT NULL,
    PRIMARY KEY (guild_id, role_id)
);

CREATE TABLE member_prefs (
    pseudonym       TEXT PRIMARY KEY CHECK (length(pseudonym) = 64),
    crisis_replies  BOOLEAN NOT NULL DEFAULT TRUE,
    dm_country      TEXT CHECK (dm_country IS NULL OR length(dm_country) BETWEEN 2 AND 6)
);

-- guild_id is 0 for DMs, as in SQLite, so that the per-day upsert has one key per DM count.
CREATE TABLE usage_daily (
    day       DATE    NOT NULL,
    guild_id  BIGINT  NOT NULL,
    kind      TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),
    key       TEXT    NOT NULL DEFAULT '' CHECK (length(key) <= 64),
    outcome   TEXT    NOT NULL DEFAULT 'ok' CHECK (length(outcome) BETWEEN 1 AND 32),
    count     BIGINT  NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, guild_id, kind, key, outcome)
);

CREATE INDEX usage_daily_by_guild ON usage_daily (guild_id, day);
