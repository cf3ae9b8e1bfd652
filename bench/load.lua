-- bench/load.lua: the mixed workload of `bench/load mixed` for wrk.
--
-- Run with one connection per thread (wrk -tN -cN): wrk calls request()
-- just before it writes a request on a connection and response() when its
-- answer is complete, so with one connection per thread the last request
-- of the thread is the one answered, and its kind and start time can be
-- kept here. Each thread appends "kind status microseconds end" (end: the
-- answer's CLOCK_MONOTONIC time in microseconds) per answer to
-- HK_OUT.<thread number> (flushed when wrk exits), so that bench/load can
-- give percentiles per kind; wrk's own summary (done) gives the socket
-- errors and the percentiles of all requests.
--
-- Environment: HK_TOKEN (a session token), HK_LOGIN (the JSON body of a
-- login), HK_LIST_<KIND> (a file of one path argument a line: URL-encoded
-- search queries, patient IDs, document IDs, IDs of documents with a
-- thumbnail), HK_LOGIN_EVERY (thread numbers divisible by it only log in),
-- HK_OUT (prefix of the sample files), HK_SEED.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } hk_timespec;
  int clock_gettime(int clk, hk_timespec *ts);
]]
local ts = ffi.new("hk_timespec")

local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local function lines(path)
  local t = {}
  for l in io.lines(path) do
    t[#t + 1] = l
  end
  return t
end

-- Of the connections that do not log in: a viewer's reading mix (a search,
-- a timeline, then documents and their thumbnails).
local MIX = { { "search", 15 }, { "timeline", 25 }, { "content", 35 }, { "thumbnail", 25 } }
local lists = {}
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("number", counter)
  threads[#threads + 1] = thread
end

function init(args)
  for _, m in ipairs(MIX) do
    lists[m[1]] = lines(os.getenv("HK_LIST_" .. string.upper(m[1])))
  end
  math.randomseed(tonumber(os.getenv("HK_SEED") or "1") * 1000 + number)
  login_only = number % tonumber(os.getenv("HK_LOGIN_EVERY")) == 0
  auth = { ["Authorization"] = "Bearer " .. os.getenv("HK_TOKEN") }
  login_body = os.getenv("HK_LOGIN")
  out = io.open(os.getenv("HK_OUT") .. "." .. number, "w")
  out:setvbuf("full", 65536)
end

local function pick()
  local r = math.random(100)
  for _, m in ipairs(MIX) do
    if r <= m[2] then
      return m[1]
    end
    r = r - m[2]
  end
  return MIX[#MIX][1]
end

request = function()
  local path
  if login_only then
    kind = "login"
    start = now_us()
    return wrk.format("POST", "/api/v1/session", { ["Content-Type"] = "application/json" },
      login_body)
  end
  kind = pick()
  local l = lists[kind]
  local x = l[math.random(#l)]
  if kind == "search" then
    path = "/api/v1/patients?q=" .. x
  elseif kind == "timeline" then
    path = "/api/v1/patients/" .. x .. "/documents"
  elseif kind == "content" then
    path = "/api/v1/documents/" .. x .. "/content"
  else
    path = "/api/v1/documents/" .. x .. "/thumbnail"
  end
  start = now_us()
  return wrk.format("GET", path, auth)
end

response = function(status, headers, body)
  local t = now_us()
  out:write(string.format("%s %d %d %d\n", kind, status, t - start, t))
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("HKWRK requests=%d duration_us=%d bytes=%d connect=%d read=%d "
    .. "write=%d status=%d timeout=%d p50=%d p99=%d p999=%d max=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
