-- Order hold (issue 12): a pending delivery its flow refused holds the later deliveries of its
-- flow only until this time (ms since the epoch); NULL means it holds them as long as it is
-- pending (never refused yet, or the flow as a whole asks to wait: 429, 503, unreachable).
ALTER TABLE deliveries ADD COLUMN releases_flow_at_ms INTEGER;
