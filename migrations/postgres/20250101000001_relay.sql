-- Trigger subscriptions and the deliveries waiting for (or kept from) their flows: the same
-- schema as migrations/sqlite/ after its three migrations, in PostgreSQL's types. Every integer
-- is BIGINT because both backends read one typed row (`store::types`) of i64 fields.

CREATE TABLE subscriptions (
    id                  TEXT PRIMARY KEY,            -- 22-char base64url of 128 random bits
    connection_id       TEXT NOT NULL,               -- the owning connection (HMAC, not the key)
    event_type          TEXT NOT NULL,               -- chat_started | chat_ended | ticket_created
    data_types          TEXT NOT NULL,               -- JSON array as registered at LiveChat
    sealed_callback     TEXT NOT NULL,               -- the flow's callback, sealed (Keys::seal_text)
    token_sha256        TEXT NOT NULL,               -- SHA-256 (hex) of the intake URL's token
    livechat_webhook_id TEXT,                        -- LiveChat's id; NULL while registering
    sealed_credentials  TEXT NOT NULL,               -- Keys::seal, bound to subscription + connection
    created_ms          BIGINT NOT NULL,
    -- Set when the owner unsubscribes or the flow answered 404/410: the intake refuses it and it
    -- no longer counts, but its pending deliveries still go out; the row is purged once it has
    -- no pending or dead deliveries.
    closed_ms           BIGINT
);

CREATE INDEX subscriptions_by_connection ON subscriptions (connection_id);

CREATE TABLE deliveries (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id     TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_type          TEXT NOT NULL,
    event_unique_id     TEXT NOT NULL,
    payload             TEXT,                        -- the normalised notification; NULL once delivered
    state               TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'dead', 'delivered')),
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms     BIGINT NOT NULL,
    lease_until_ms      BIGINT,                      -- set while some replica's worker holds the row
    lease_token         TEXT,                        -- random per claim; only its holder records the outcome
    last_status         BIGINT,                      -- last HTTP status from the callback
    last_error          TEXT,
    created_ms          BIGINT NOT NULL,
    updated_ms          BIGINT NOT NULL,
    -- Order hold: a pending delivery its flow refused holds the later deliveries of its flow
    -- only until this time (ms since the epoch); NULL: as long as it is pending.
    releases_flow_at_ms BIGINT,
    UNIQUE (subscription_id, event_unique_id)
);

-- The claim scans pending rows by due time; the flow-order check looks up earlier pending rows
-- of one subscription; renewals find a claim's rows by token; the purges go by age.
CREATE INDEX deliveries_due ON deliveries (next_attempt_ms, id) WHERE state = 'pending';
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, state, id);
CREATE INDEX deliveries_by_lease ON deliveries (lease_token) WHERE lease_token IS NOT NULL;
CREATE INDEX deliveries_dead_age ON deliveries (state, updated_ms);
