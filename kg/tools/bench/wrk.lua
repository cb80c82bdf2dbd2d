-- kg bench's wrk script (kg/tools/bench/load.py). Arguments: a file of requests, one a line
-- (method, path, Accept, body; tab-separated), the number of wrk threads, the warm-up and the
-- window in seconds. Each thread sends every n-th request of the file, from its own, in turn, so
-- that no request is sent twice while the list lasts; only the 200 responses that arrive within
-- the window (after the warm-up, on the monotonic clock) are counted as completed.
-- done() prints "KG-RESULT completed answered failed connect read write timeout" (failed: any
-- other status than 200; then wrk's socket errors), then "KG-STATUS status count" for each
-- status other than 200.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } kg_timespec;
int clock_gettime(int clock, kg_timespec *spec);
]]
local spec = ffi.new("kg_timespec")
local CLOCK_MONOTONIC = 1

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, spec)
  return tonumber(spec.tv_sec) + tonumber(spec.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local method, path, accept, body = line:match("^(%u+)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Accept"] = accept }
    if body ~= "" then
      headers["Content-Type"] = "application/json"
    else
      body = nil
    end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
  file:close()
  step = tonumber(args[2])
  counter = id
  window_start = now() + tonumber(args[3])
  window_end = window_start + tonumber(args[4])
  completed, answered, failed, statuses = 0, 0, 0, {}
end

function request()
  local chosen = requests[(counter % #requests) + 1]
  counter = counter + step
  return chosen
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 then
    failed = failed + 1
    statuses[status] = (statuses[status] or 0) + 1
  else
    local at = now()
    if at >= window_start and at < window_end then
      completed = completed + 1
    end
  end
end

function done(summary, latency, requests)
  local totals, seen = { completed = 0, answered = 0, failed = 0 }, {}
  for _, thread in ipairs(threads) do
    for name in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
    for status, count in pairs(thread:get("statuses")) do
      seen[status] = (seen[status] or 0) + count
    end
  end
  local e = summary.errors
  io.write(string.format("KG-RESULT %d %d %d %d %d %d %d\n", totals.completed, totals.answered,
    totals.failed, e.connect, e.read, e.write, e.timeout))
  for status, count in pairs(seen) do
    io.write(string.format("KG-STATUS %d %d\n", status, count))
  end
end
