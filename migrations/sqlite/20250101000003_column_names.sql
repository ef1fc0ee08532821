-- Column names that say what they hold, and NULL instead of '' for what is not there (issue 7).
-- Existing files keep their rows: columns are renamed or copied, never recreated empty.

ALTER TABLE subscriptions RENAME COLUMN callback_url TO sealed_callback;

-- LiveChat's webhook id: NULL while it is being registered (was '').
ALTER TABLE subscriptions RENAME COLUMN livechat_webhook_id TO livechat_webhook_id_or_blank;
ALTER TABLE subscriptions ADD COLUMN livechat_webhook_id TEXT;
UPDATE subscriptions SET livechat_webhook_id = NULLIF(livechat_webhook_id_or_blank, '');
ALTER TABLE subscriptions DROP COLUMN livechat_webhook_id_or_blank;

-- The normalised notification: NULL once delivered (was '').
ALTER TABLE deliveries RENAME COLUMN payload TO payload_or_blank;
ALTER TABLE deliveries ADD COLUMN payload TEXT;
UPDATE deliveries SET payload = CASE WHEN state = 'delivered' THEN NULL ELSE payload_or_blank END;
ALTER TABLE deliveries DROP COLUMN payload_or_blank;
