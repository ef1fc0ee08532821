-- Triggers on LiveChat API v3 (issue 11), as migrations/sqlite/20250101000004_v3_triggers.sql.
-- LiveChat allows three webhooks per action per Developer Console app, so one upstream webhook
-- serves every subscription of an account and trigger; HelpDesk has no ticket webhook, so
-- ticket_created polls with a high-water mark.

-- The account a v3 subscription belongs to (an HMAC of the account ID, like connection_id);
-- NULL on v2, where every subscription has its own LiveChat webhook.
ALTER TABLE subscriptions ADD COLUMN account_key TEXT;
CREATE INDEX subscriptions_by_account ON subscriptions (account_key, event_type)
    WHERE account_key IS NOT NULL;

-- One row per (account, trigger) with a webhook at LiveChat. The row is the lock that keeps
-- a second replica from registering another: whoever inserts it (or takes over a claim that
-- ran out before a webhook id was stored) registers; everyone else waits for the id.
CREATE TABLE upstream_webhooks (
    id                  TEXT PRIMARY KEY,            -- random; the intake URL's last segment
    account_key         TEXT NOT NULL,
    event_type          TEXT NOT NULL,               -- chat_started | chat_ended
    secret_sha256       TEXT NOT NULL,               -- SHA-256 (hex) of the secret_key LiveChat echoes
    livechat_webhook_id TEXT,                        -- NULL while being registered
    claim_until_ms      BIGINT NOT NULL,             -- while registering: the claim's end
    created_ms          BIGINT NOT NULL,
    UNIQUE (account_key, event_type)
);

-- ticket_created on HelpDesk: per connection, the high-water mark (the newest createdAt already
-- fired, and the IDs of the tickets fired at that very time) and when to look again; the lease
-- keeps two replicas from polling the same connection.
CREATE TABLE ticket_cursors (
    connection_id  TEXT PRIMARY KEY,
    created_ms     BIGINT NOT NULL,
    ticket_ids     TEXT NOT NULL,                    -- space separated
    next_poll_ms   BIGINT NOT NULL,
    lease_until_ms BIGINT,
    lease_token    TEXT
);
