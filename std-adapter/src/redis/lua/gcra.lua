-- GCRA for one key, on Redis's clock, with the core's semantics
-- (seawall_core::rate_limit): a request of n cells is admitted when
-- max(TAT, now) + n * interval <= now + tolerance, and moves the TAT there;
-- otherwise it is refused until that holds.
--
-- KEYS[1] the limiter's hash (fields s, ns: the TAT in seconds and nanoseconds)
-- ARGV[1] tolerance = burst * interval (ns, at most 2^52), ARGV[2] the
-- increment n * interval (ns, at most the tolerance)
-- Reply: {1, 0} admitted, or {0, ns until it would be}.
local key = KEYS[1]
local tolerance = tonumber(ARGV[1])
local increment = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now_s = tonumber(clock[1])
local now_ns = tonumber(clock[2]) * 1000

-- How far the TAT runs ahead of now (ns): exact, as it is at most the tolerance.
local ahead = 0
local tat = redis.call('HMGET', key, 's', 'ns')
if tat[1] then
  local seconds = tonumber(tat[1]) - now_s
  if seconds >= -1 then
    ahead = math.max(0, seconds * 1000000000 + tonumber(tat[2]) - now_ns)
  end
end
local next = ahead + increment
if next > tolerance then
  return {0, next - tolerance}
end
local total = now_ns + next
redis.call('HSET', key, 's', string.format('%d', now_s + math.floor(total / 1000000000)),
  'ns', string.format('%d', total % 1000000000))
-- Once the TAT has passed, the key says no more than a missing one.
redis.call('PEXPIRE', key, string.format('%d', math.ceil(next / 1000000) + 1))
return {1, 0}
