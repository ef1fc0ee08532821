-- One sliding-log decision for one connection, atomic inside Redis.
-- KEYS[1]: the connection's log, a sorted set of admission times (ms) scored by themselves.
-- ARGV[1]: calls admitted per window; ARGV[2]: the window (ms); ARGV[3] (tests only): the time
-- (ms). Without it the time is Redis's own, so clock skew between replicas cannot widen the
-- window. Returns {admitted (0/1), calls in the window, oldest admission (ms), now (ms)}.
-- Redis before 5 replicates scripts verbatim, which forbids writes after TIME; from 5 on this is
-- the default (and from 7 a no-op).
if redis.replicate_commands then
  redis.replicate_commands()
end
local calls = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local stamp = string.format('%d', now)
-- As in-process: an admission exactly one window old no longer counts.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
local n = redis.call('ZCARD', KEYS[1])
local admitted = 0
if n < calls then
  -- Several admissions in one millisecond need distinct members.
  local same = redis.call('ZCOUNT', KEYS[1], stamp, stamp)
  redis.call('ZADD', KEYS[1], stamp, stamp .. ':' .. same)
  -- Everything in the log is stale one window after the newest admission.
  redis.call('PEXPIRE', KEYS[1], window)
  admitted = 1
  n = n + 1
end
local oldest = now
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then
  oldest = tonumber(first[2])
end
return {admitted, n, oldest, now}
