-- LiveChat delivers a Developer Console app's webhooks for every account that installed the app
-- (livechat-v3-helpdesk.md §3.1), so an account's webhook may receive other accounts' events.
-- The organization a delivery names is checked against the one this account's own credentials
-- proved (by reading the chat) the first time; NULL until then.
ALTER TABLE upstream_webhooks ADD COLUMN organization_id TEXT;
