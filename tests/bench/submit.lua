-- wrk script: every request is a distinct submission (own e-mail, own Idempotency-Key).
-- SLOTS (environment) holds two slot ids of the catalogue, comma-separated.
local counter = 0
local prefix
local slots = os.getenv("SLOTS") or "a,b"
local s1, s2 = slots:match("([^,]+),([^,]+)")

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  prefix = string.format("%08x", math.random(0, 0x7fffffff))
end

local function uuid()
  return string.format("%08x-%04x-4%03x-8%03x-%04x%08x",
    math.random(0, 0x7fffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    math.random(0, 0xfff), math.random(0, 0xffff), math.random(0, 0x7fffffff))
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"wrk-%s-%d@example.org","nom":"Banc d\'essai","creneaux":["%s","%s"],"commentaire":"wrk"}',
    prefix, counter, s1, s2)
  return wrk.format("POST", "/api/submit", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = uuid(),
  }, body)
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status))
end
