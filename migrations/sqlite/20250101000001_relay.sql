-- Trigger subscriptions and the deliveries waiting for (or kept from) their flows.

CREATE TABLE subscriptions (
    id                  TEXT PRIMARY KEY NOT NULL,   -- 22-char base64url of 128 random bits
    connection_id       TEXT NOT NULL,               -- the owning connection (HMAC, not the key)
    event_type          TEXT NOT NULL,               -- chat_started | chat_ended | ticket_created
    data_types          TEXT NOT NULL,               -- JSON array as registered at LiveChat
    callback_url        TEXT NOT NULL,               -- the flow's callback, sealed (Keys::seal_text)
    token_sha256        TEXT NOT NULL,               -- SHA-256 (hex) of the intake URL's token
    livechat_webhook_id TEXT NOT NULL,               -- LiveChat's id, for clean-up; '' while registering
    sealed_credentials  TEXT NOT NULL,               -- Keys::seal, bound to subscription + connection
    created_ms          INTEGER NOT NULL,
    -- Set when the owner unsubscribes or the flow answered 404/410: the intake refuses it and it
    -- no longer counts, but its pending deliveries still go out; the row is purged once it has
    -- no pending or dead deliveries.
    closed_ms           INTEGER
);

CREATE INDEX subscriptions_by_connection ON subscriptions (connection_id);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    event_unique_id TEXT NOT NULL,
    payload         TEXT NOT NULL,                   -- the normalised notification ('' once delivered)
    state           TEXT NOT NULL DEFAULT 'pending', -- pending | dead | delivered
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_until_ms  INTEGER,                         -- set while a worker holds the row
    lease_token     TEXT,                            -- random per claim; only its holder records the outcome
    last_status     INTEGER,                         -- last HTTP status from the callback
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    UNIQUE (subscription_id, event_unique_id)
);

CREATE INDEX deliveries_due ON deliveries (state, next_attempt_ms);
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, state, id);
CREATE INDEX deliveries_dead_age ON deliveries (state, updated_ms);
