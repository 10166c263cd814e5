-- Each request a query string never asked before (an ignored parameter r=random): the
-- tenant list's shared rendering never hits, so this measures a page rendered for its request.
local base = nil
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end
request = function()
  return wrk.format(nil, wrk.path .. "&r=" .. math.random(1, 2000000000))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.1f errors=%d timeouts=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write, e.timeout, e.status))
end
