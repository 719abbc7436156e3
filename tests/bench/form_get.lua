-- wrk script: GET of one address (the command line's), and one line to parse at the end.
-- No response() callback: wrk counts non-2xx/3xx answers itself (errors.status), and a
-- callback would make it parse every body.
function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status))
end
