-- Storage primitive of the shared breaker (it holds no rule of its own): a
-- compare-and-set of the state on its version, which the caller computed
-- from the state it read.
--
-- KEYS[1] the state (a hash), KEYS[2] its window (a hash; same key slot)
-- ARGV: the version the caller read (compared as a string; '' when none);
--       the latest time (microseconds of Redis's clock) at which the write
--       may happen ('' for no limit): a caller that gave up waiting has
--       asked for nothing;
--       '1' to clear the window, else '0';
--       n, then n field-value pairs to set (the version among them);
--       m, then m fields to read when the version differs
-- Reply: {status, seconds, microseconds, values...}: status 1 written; 0 the
-- version differs (the values are the m fields now); 2 too late, nothing done.
local state, window = KEYS[1], KEYS[2]
local clock = redis.call('TIME')
local expected, deadline, clear = ARGV[1], ARGV[2], ARGV[3]
if deadline ~= '' then
  local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
  if now > tonumber(deadline) then
    return {2, clock[1], clock[2]}
  end
end
local pairs_count = tonumber(ARGV[4])
local version = redis.call('HGET', state, 'version') or ''
if version ~= expected then
  local reply = {0, clock[1], clock[2]}
  local fields = {}
  for j = 5 + 2 * pairs_count + 1, #ARGV do
    fields[#fields + 1] = ARGV[j]
  end
  if #fields > 0 then
    for _, value in ipairs(redis.call('HMGET', state, unpack(fields))) do
      reply[#reply + 1] = value
    end
  end
  return reply
end
if pairs_count > 0 then
  redis.call('HSET', state, unpack(ARGV, 5, 4 + 2 * pairs_count))
end
if clear == '1' then
  redis.call('DEL', window)
end
return {1, clock[1], clock[2]}
