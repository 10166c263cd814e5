-- wrk script of benches/load.sh: no request logic (the URL and -H headers say what to ask),
-- only a machine-readable summary line at the end:
--   requests=N rps=R p50_ms=… p99_ms=… max_ms=… errors=N timeouts=N non2xx=N
-- Latencies are wrk's (recorded in microseconds; wrk 4 adds coordinated-omission corrections
-- to the histogram, so percentiles are if anything pessimistic; the maximum is a real answer).
-- Answers slower than --timeout are counted in timeouts, not in the latencies.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.1f errors=%d timeouts=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write, e.timeout, e.status))
end
