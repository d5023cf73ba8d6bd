-- wrk's figures as one JSON line for bench/loadgen.py: percentiles read from wrk's own
-- histogram (its text output rounds them and changes units), and every answer other than a
-- 200 counted (wrk's own error count leaves out redirects, so a lost session would look fast).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  codes = {}
end

function response(status, headers, body)
  if status ~= 200 then
    unexpected = unexpected + 1
    if unexpected == 1 then  -- the first one's start, for the error message
      local start = string.gsub(string.sub(body or "", 1, 300), "%s+", " ")
      io.stderr:write(string.format("first answer other than 200: %d %s\n", status, start))
    end
    codes[tostring(status)] = (codes[tostring(status)] or 0) + 1
  end
end

function done(summary, latency, requests)
  local not_ok, seen = 0, {}
  for _, thread in ipairs(threads) do
    not_ok = not_ok + thread:get("unexpected")
    for code, count in pairs(thread:get("codes")) do
      seen[#seen + 1] = string.format('"%s": %d', code, count)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "not_200": %d, "socket_errors": %d, "timeouts": %d, "codes": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, not_ok, e.connect + e.read + e.write, e.timeout,
    table.concat(seen, ", ")))
end
