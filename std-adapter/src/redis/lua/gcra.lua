-- GCRA for one key, on Redis's clock, with the core's semantics
-- (seawall_core::rate_limit): a request of n cells is admitted when
-- max(TAT, now) + n * interval <= now + tolerance, and moves the TAT there;
-- otherwise it is refused until that holds.
--
-- KEYS[1] the limiter's hash (fields s, ns: the TAT in seconds and nanoseconds)
-- ARGV[1] tolerance = burst * interval (ns, at most 2^52), ARGV[2] the
-- increment n * interval (ns, at most the tolerance); ARGV[3], ARGV[4] the
-- time now in seconds and nanoseconds when a test's clock gives it (else
-- both '' and Redis's TIME is the clock)
-- Reply: {1, 0} admitted, or {0, ns until it would be}.
local key = KEYS[1]
local tolerance = tonumber(ARGV[1])
local increment = tonumber(ARGV[2])
local now_s, now_ns
if ARGV[3] ~= nil and ARGV[3] ~= '' then
  now_s, now_ns = tonumber(ARGV[3]), tonumber(ARGV[4])
else
  local clock = redis.call('TIME')
  now_s, now_ns = tonumber(clock[1]), tonumber(clock[2]) * 1000
end

-- Stores the TAT `ahead` ns after now; the key lasts until that has passed
-- (once the TAT has passed, the key says no more than a missing one).
local function store(ahead)
  local total = now_ns + ahead
  redis.call('HSET', key, 's', string.format('%d', now_s + math.floor(total / 1000000000)),
    'ns', string.format('%d', total % 1000000000))
  redis.call('PEXPIRE', key, string.format('%d', math.ceil(ahead / 1000000) + 1))
end

-- How far the TAT runs ahead of now (ns).
local ahead = 0
local tat = redis.call('HMGET', key, 's', 'ns')
if tat[1] then
  local seconds = tonumber(tat[1]) - now_s
  if seconds >= -1 then
    ahead = math.max(0, seconds * 1000000000 + tonumber(tat[2]) - now_ns)
  end
end
if ahead > tolerance then
  -- Only a clock that went backwards gets here: restart from a used-up
  -- burst now rather than refuse for as long as it jumped (as the core does).
  ahead = tolerance
  store(ahead)
end
local next = ahead + increment
if next > tolerance then
  return {0, next - tolerance}
end
store(next)
return {1, 0}
