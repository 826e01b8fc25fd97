-- wrk script for bench/run's cold-path phase: requests each path of a file once.
--
-- VARIED_FILE names a file of paths, one a line (bench/varied_urls.py writes them);
-- VARIED_THREADS is wrk's -t. Each thread takes its own contiguous part of the file and
-- requests its paths in order, so no path is requested twice in a run unless a thread runs
-- out of paths: it then starts its part again and counts each such request as repeated
-- (the report flags the run). Like bench/wrk.lua it counts responses that are not 2xx, and
-- when the run ends prints two lines:
--   RESULT <human-readable summary>
--   JSON {"requests": ..., "p50_us": ..., "urls": ..., "repeated": ...}  (bench/report.py)

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("VARIED_FILE") or error("VARIED_FILE is not set")
  local nthreads = tonumber(os.getenv("VARIED_THREADS") or "1")
  local all = {}
  for line in io.lines(file) do
    if line ~= "" then all[#all + 1] = line end
  end
  local per = math.floor(#all / nthreads)
  local first = (id - 1) * per + 1
  local last = (id == nthreads) and #all or id * per
  paths = {}
  for i = first, last do paths[#paths + 1] = all[i] end
  if #paths == 0 then error("no paths for thread " .. id .. " in " .. file) end
  total_urls = #all -- globals, so done() can read them from each thread with thread:get()
  sent = 0
  repeated = 0
  non2xx = 0
end

function request()
  sent = sent + 1
  if sent > #paths then repeated = repeated + 1 end
  return wrk.format("GET", paths[(sent - 1) % #paths + 1])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total, repeated_total, urls = 0, 0, 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
    repeated_total = repeated_total + thread:get("repeated")
    urls = thread:get("total_urls")
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local rps = summary.requests / seconds
  local p50, p99 = latency:percentile(50), latency:percentile(99)

  io.write(string.format(
    "RESULT %.1f req/s, p50 %.1f ms, p99 %.1f ms, %d requests, %d errors, %d non-2xx, "
      .. "%d of %d URLs repeated\n",
    rps, p50 / 1000, p99 / 1000, summary.requests, errors, non2xx_total, repeated_total, urls))
  io.write(string.format(
    'JSON {"requests": %d, "seconds": %.3f, "rps": %.2f, "p50_us": %d, "p99_us": %d, '
      .. '"mean_us": %d, "max_us": %d, "non2xx": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "urls": %d, "repeated": %d}\n',
    summary.requests, seconds, rps, math.floor(p50), math.floor(p99), math.floor(latency.mean),
    math.floor(latency.max), non2xx_total,
    e.connect, e.read, e.write, e.timeout, urls, repeated_total))
end
