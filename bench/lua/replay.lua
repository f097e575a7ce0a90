-- Replays pre-built requests, one list per wrk thread, in order and round-robin.
-- Each line of $BENCH_REQUESTS/requests-<thread>.tsv is
--   METHOD <tab> PATH <tab> Header: value|Header: value <tab> BODY
-- With $BENCH_DELAY_MS set, each connection waits a random (exponential) time
-- of that mean before each request: a fixed offered rate instead of saturation.
-- done() prints one JSON line with the counts and latency percentiles (µs).

local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  local dir = os.getenv("BENCH_REQUESTS")
  local f = io.open(dir .. "/requests-" .. tid .. ".tsv", "r")
  if f == nil then
    f = assert(io.open(dir .. "/requests-1.tsv", "r"))
  end
  reqs = {}
  for line in f:lines() do
    local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if method ~= nil then
      local h = {}
      for kv in headers:gmatch("[^|]+") do
        local k, v = kv:match("^([^:]+):%s*(.*)$")
        if k ~= nil then h[k] = v end
      end
      if body == "" then body = nil end
      reqs[#reqs + 1] = wrk.format(method, path, h, body)
    end
  end
  f:close()
  i = 0
  math.randomseed(tid * 7919)
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms ~= nil then
  function delay()
    -- capped under uvicorn's 5 s keep-alive, which would close the connection
    return math.min(4000, math.floor(-delay_ms * math.log(1 - math.random()) + 0.5))
  end
end

function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
