-- wrk script shared by every contender, so wrk does the same work whatever it measures.
-- AUTHS: a file with one Authorization value per line; each request takes the next one
-- (one line: one connection's credentials; 10,000 lines: 10,000 distinct connections).
-- PACE_MS (optional): wait that long between a connection's calls (a paced, fixed-rate load).
local reqs = {}
local idx = 0
local pace = tonumber(os.getenv("PACE_MS") or "")

function init(args)
  for line in io.lines(os.getenv("AUTHS")) do
    reqs[#reqs + 1] = wrk.format(nil, nil, { ["Authorization"] = line })
  end
  idx = math.random(#reqs)
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

if pace then
  function delay()
    return pace
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.status, e.connect + e.read + e.write + e.timeout))
end
