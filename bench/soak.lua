-- wrk script for bench/soak: mixed public traffic drawn at random from real material.
--
-- SOAK_DATA names the Lua file bench/soak_prepare.py wrote (slugs, vocabularies, search words,
-- bounded export queries). Each request is one of, with these weights:
--   list    40  the list with 1-3 random filters, sometimes a sort and a later page
--   detail  35  a random published case study
--   search  20  q= one or two matching words, sometimes with 1-2 filters or a later page
--   export   5  the CSV or JSON export of a list query selecting 100-400 records
-- SOAK_ONLY=<type> sends only that type (the per-type runs); SOAK_ONLY=ceiling sends only
-- /bench/ceiling/, the constant response the figures are compared with.
--
-- At the end it prints two lines:
--   RESULT <human-readable summary>
--   JSON {...}   (read by bench/soak_report.py)
-- Requests sent are counted by type; responses by status (wrk itself counts only >= 400).

local data = dofile(os.getenv("SOAK_DATA"))
local only = os.getenv("SOAK_ONLY") or ""

local WEIGHTS = { { "list", 40 }, { "detail", 35 }, { "search", 20 }, { "export", 5 } }
local TYPES = { "list", "detail", "search", "export", "ceiling" }
local FACETS = { "theme", "driver", "outcome", "barrier", "sector", "country", "stage", "kind", "years" }

local total_weight = 0
for _, pair in ipairs(WEIGHTS) do total_weight = total_weight + pair[2] end

local function pick(list)
  return list[math.random(#list)]
end

local function pick_type()
  if only ~= "" then return only end
  local r = math.random() * total_weight
  for _, pair in ipairs(WEIGHTS) do
    r = r - pair[2]
    if r < 0 then return pair[1] end
  end
  return WEIGHTS[#WEIGHTS][1]
end

-- n distinct facet filters, as query-string parts.
local function filters(n)
  local names, chosen, parts = {}, {}, {}
  while #names < n do
    local name = pick(FACETS)
    if not chosen[name] then
      chosen[name] = true
      table.insert(names, name)
    end
  end
  for _, name in ipairs(names) do
    if name == "years" then
      local first = math.random(data.first_year, data.last_year)
      table.insert(parts, "year_from=" .. first .. "&year_to=" .. math.min(data.last_year, first + math.random(0, 10)))
    else
      table.insert(parts, name .. "=" .. pick(data.params[name]))
      -- Now and then a second value of the same vocabulary (OR).
      if math.random() < 0.2 then
        table.insert(parts, name .. "=" .. pick(data.params[name]))
      end
    end
  end
  return table.concat(parts, "&")
end

local function later_page(chance)
  if math.random() < chance then return "&page=" .. math.random(2, 5) end
  return ""
end

local builders = {
  ceiling = function()
    return "/bench/ceiling/"
  end,
  list = function()
    local path = "/initiatives/?" .. filters(math.random(1, 3))
    if math.random() < 0.5 then path = path .. "&sort=" .. pick(data.sorts) end
    return path .. later_page(0.3)
  end,
  detail = function()
    return "/initiatives/" .. pick(data.slugs) .. "/"
  end,
  search = function()
    local q = pick(data.words)
    if math.random() < 0.25 then q = q .. "+" .. pick(data.words) end
    local path = "/initiatives/?q=" .. q
    if math.random() < 0.4 then path = path .. "&" .. filters(math.random(1, 2)) end
    return path .. later_page(0.2)
  end,
  export = function()
    local format = math.random() < 0.5 and "csv" or "json"
    return "/initiatives/export." .. format .. "?" .. pick(data.exports)
  end,
}

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  sent = {}
  for _, kind in ipairs(TYPES) do sent[kind] = 0 end
  statuses = {}
end

function request()
  local kind = pick_type()
  sent[kind] = sent[kind] + 1
  return wrk.format("GET", builders[kind]())
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent_total, statuses_total = {}, {}
  for _, kind in ipairs(TYPES) do sent_total[kind] = 0 end
  for _, thread in ipairs(threads) do
    for kind, n in pairs(thread:get("sent")) do sent_total[kind] = sent_total[kind] + n end
    for status, n in pairs(thread:get("statuses")) do
      statuses_total[status] = (statuses_total[status] or 0) + n
    end
  end
  local non2xx, status_parts = 0, {}
  for status, n in pairs(statuses_total) do
    if status < 200 or status > 299 then non2xx = non2xx + n end
    table.insert(status_parts, string.format('"%d": %d', status, n))
  end
  local sent_parts = {}
  for _, kind in ipairs(TYPES) do
    table.insert(sent_parts, string.format('"%s": %d', kind, sent_total[kind]))
  end

  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  local rps = summary.requests / seconds
  local p = function(q) return math.floor(latency:percentile(q)) end

  io.write(string.format(
    "RESULT %.1f req/s, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms, %d requests, "
      .. "%d errors, %d non-2xx\n",
    rps, p(50) / 1000, p(90) / 1000, p(99) / 1000, latency.max / 1000, summary.requests,
    errors, non2xx))
  io.write(string.format(
    'JSON {"requests": %d, "seconds": %.3f, "rps": %.2f, "bytes": %d, "p50_us": %d, '
      .. '"p90_us": %d, "p99_us": %d, "mean_us": %d, "max_us": %d, "non2xx": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"statuses": {%s}, "sent": {%s}}\n',
    summary.requests, seconds, rps, summary.bytes, p(50), p(90), p(99),
    math.floor(latency.mean), math.floor(latency.max), non2xx, e.connect, e.read, e.write,
    e.timeout, table.concat(status_parts, ", "), table.concat(sent_parts, ", ")))
end
