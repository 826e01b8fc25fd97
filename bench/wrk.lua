-- wrk script for bench/run: counts responses that are not 2xx (wrk itself only counts
-- status >= 400) and, when the run ends, prints two lines:
--   RESULT <human-readable summary>
--   JSON {"requests": ..., "p50_us": ..., ...}   (read by bench/report.py)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0 -- global, so done() can read it from each thread with thread:get()
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total = 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local rps = summary.requests / seconds
  local p50, p99 = latency:percentile(50), latency:percentile(99)

  io.write(string.format(
    "RESULT %.1f req/s, p50 %.1f ms, p99 %.1f ms, %d requests, %d errors, %d non-2xx\n",
    rps, p50 / 1000, p99 / 1000, summary.requests, errors, non2xx_total))
  io.write(string.format(
    'JSON {"requests": %d, "seconds": %.3f, "rps": %.2f, "p50_us": %d, "p99_us": %d, '
      .. '"mean_us": %d, "max_us": %d, "non2xx": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, seconds, rps, math.floor(p50), math.floor(p99), math.floor(latency.mean),
    math.floor(latency.max), non2xx_total,
    e.connect, e.read, e.write, e.timeout))
end
