-- Shared by every wrk script of the benchmark (the driver puts it in front of the operation's own script):
-- per-thread setup, the bearer token, the seeded ids, counting of non-2xx answers, and the one result line the
-- driver parses. wrk runs setup() and done() in its main Lua state and the rest in one state per thread.
--
-- The script's one argument (after `--` on wrk's command line) is the ids file, one id per line ("" for none);
-- the bearer token, if any, is in the environment as STRATA_BENCH_BEARER (kept off the command line).

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

non2xx = 0
first_failure = ""
headers = {}
ids = {}

local function load_ids(path)
  local list = {}
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    if line ~= "" then
      list[#list + 1] = line
    end
  end
  file:close()
  assert(#list > 0, "no ids in " .. path)
  return list
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  local ids_path, token = args[1], os.getenv("STRATA_BENCH_BEARER")
  if token ~= nil and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  if ids_path ~= nil and ids_path ~= "" then
    ids = load_ids(ids_path)
  end
  prepare()
end

function response(status, response_headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_failure == "" then
      first_failure = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local failed, failure = 0, ""
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("non2xx") or 0)
    local f = thread:get("first_failure")
    if failure == "" and f ~= nil then
      failure = f
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p99_us":%d,"first_failure":%s}\n',
    summary.requests, summary.duration, failed, e.connect + e.read + e.write, e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99)), json_string(failure)))
end
