-- wrk script: cycles through the requests listed in a file given as the first script argument,
-- one per line, "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty). Requests are formatted once in
-- init() so that the load generator spends its CPU on the socket, not on Lua.
-- done() prints one "BENCH_JSON {...}" line that bench/run.py reads.

local prepared = {}
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method then
      local headers = {
        ["Host"] = wrk.headers["Host"],
        ["Authorization"] = "Bearer sk-bench",
        ["OpenAI-Beta"] = "assistants=v2",
      }
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      prepared[#prepared + 1] = wrk.format(method, path, headers, body)
    end
  end
  file:close()
  assert(#prepared > 0, "no requests in " .. args[1])
  -- Connections of one wrk thread share this counter; start each thread at a different offset.
  index = math.random(#prepared) - 1
end

function request()
  index = index % #prepared + 1
  return prepared[index]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "status_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
