-- The liveness key of the replica holding a delivery's lease (see store::postgres::liveness):
-- a claim takes over a lease whose replica no longer holds its advisory lock at once, without
-- waiting for lease_until_ms. NULL: only the time bounds the lease.
ALTER TABLE deliveries ADD COLUMN lease_owner BIGINT;
