-- wrk script: a mixed read load over the overview, the stats API, the alerts API and healthz,
-- in turn. PBX_COOKIE is the session cookie of a logged-in user, PBX_TOKEN a read token.
local cookie = os.getenv("PBX_COOKIE")
local token = os.getenv("PBX_TOKEN")
local paths = {
  { "/", "Cookie", cookie },
  { "/api/v1/servers/stats", "Authorization", "Bearer " .. token },
  { "/api/v1/alerts?severity=critical", "Authorization", "Bearer " .. token },
  { "/healthz", nil, nil },
}
local n = 0

request = function()
  n = n + 1
  local p = paths[(n % #paths) + 1]
  local headers = {}
  if p[2] then headers[p[2]] = p[3] end
  return wrk.format("GET", p[1], headers)
end

local statuses = {}
response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency)
  io.write(string.format("requests/s %.0f  p50 %.1f ms  p99 %.1f ms  max %.1f ms  errors %d  timeouts %d  non-2xx %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status,
    summary.errors.timeout, summary.errors.status))
end
