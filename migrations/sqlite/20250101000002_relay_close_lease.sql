-- Closed subscriptions (unsubscribed, still owed their accepted events), lease tokens, and
-- sealed callback URLs.
--
-- subscriptions.closed_ms: NULL while the subscription is open. Set when its owner unsubscribes
--   or its flow answered 404/410: the intake refuses it and it no longer counts, but its pending
--   deliveries still go out; the row is purged once it has no pending or dead deliveries.
-- subscriptions.livechat_webhook_id: '' while the webhook is being registered at LiveChat.
-- subscriptions.callback_url: from now on holds the callback sealed with Keys::seal_text
--   ('v1.' prefix); rows written before are sealed by the gateway when it starts.
-- deliveries.lease_token: random, set with lease_until_ms by each claim; an outcome is recorded
--   only by the holder of the current lease.

ALTER TABLE subscriptions ADD COLUMN closed_ms INTEGER;
ALTER TABLE deliveries ADD COLUMN lease_token TEXT;

CREATE INDEX deliveries_dead_age ON deliveries (state, updated_ms);
