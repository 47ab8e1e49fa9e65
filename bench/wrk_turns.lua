-- Customer turns for wrk (`bash bench/wrk.sh`): each request is one message to one of the
-- conversations listed in the file named by DESTEK_WRK_CONVERSATIONS (`id token` lines,
-- written by `DESTEK_LOAD_SERVE=FILE cargo bench --bench http_load`). Each wrk thread takes
-- its own share of the conversations in turn, with the message mix of `benches/http_load.rs`,
-- so a conversation never has two turns in flight.
--
-- With DESTEK_WRK_THINK_MS set, each connection waits that long after an answer before its
-- next message, as a customer reads and types: the load is then what the connections offer,
-- not as much as the server can take (without it every answer is followed at once by the
-- next request, and the latency is the length of the queue).

local messages = {
  "hello",
  "where is my order 48213977",
  "ayse.yilmaz@example.com",
  "how much is shipping",
  "siparişim nerede",
  "سفارشم کجاست؟",
  "thanks",
}

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("DESTEK_WRK_CONVERSATIONS")
  local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  local all = {}
  for line in file:lines() do
    local id, token = line:match("^(%S+) (%S+)$")
    if id then
      table.insert(all, { id, token })
    end
  end
  file:close()
  mine = {}
  local stride = tonumber(os.getenv("DESTEK_WRK_THREADS") or "2")
  for i = index + 1, #all, stride do
    table.insert(mine, all[i])
  end
  n = index
end

local think = tonumber(os.getenv("DESTEK_WRK_THINK_MS") or "")

if think then
  function delay()
    return think
  end
end

function request()
  local c = mine[(n % #mine) + 1]
  local text = messages[(n % #messages) + 1]
  n = n + 1
  return wrk.format("POST", "/api/v1/conversations/" .. c[1] .. "/messages", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. c[2],
  }, '{"text":"' .. text .. '"}')
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"turns":%d,"seconds":%.2f,"turns_per_s":%.0f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"errors":%d}\n',
    summary.requests, seconds, (summary.requests - errors) / seconds,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, errors))
end
