-- wrk script of the benchmark: the request of one workload and, at the end,
-- one machine-readable line (BENCH {...}) for bench/report.py.
--   BENCH_WORKLOAD=read   GET  /kylin/api/projects            (default)
--   BENCH_WORKLOAD=query  POST /kylin/api/query with a small SQL body
--   BENCH_COOKIE          Cookie header value sent on every request (C)
local workload = os.getenv("BENCH_WORKLOAD") or "read"
local cookie = os.getenv("BENCH_COOKIE") or ""

if workload == "query" then
   wrk.method = "POST"
   wrk.path = "/kylin/api/query"
   wrk.body = '{"sql":"select count(*) from kylin_sales","project":"learn_kylin",'
      .. '"offset":0,"limit":50000,"acceptPartial":false}'
   wrk.headers["Content-Type"] = "application/json"
else
   wrk.method = "GET"
   wrk.path = "/kylin/api/projects"
end
wrk.headers["Accept"] = "application/json"
if cookie ~= "" then
   wrk.headers["Cookie"] = cookie
end

-- No response() callback: defining one makes wrk hand every answer to Lua,
-- which would slow the load generator for every scenario alike.
-- summary.errors.status counts answers that are not 2xx/3xx.

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"connect_err":%d,"read_err":%d,"write_err":%d,"status_err":%d,'
      .. '"timeout_err":%d,"lat_mean_us":%.1f,"lat_max_us":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.max,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
