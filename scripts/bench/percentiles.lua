-- wrk reporter: one line of latency percentiles in milliseconds plus totals,
-- parsed by scripts/bench-* (wrk's own --latency output has no p95).
done = function(summary, latency, requests)
  local ms = function(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    "RESULT p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d rps=%.1f errors=%d\n",
    ms(50), ms(95), ms(99), latency.max / 1000, summary.requests,
    summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
end
