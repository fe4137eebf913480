-- Storage primitive of the shared breaker (it holds no rule of its own):
-- adds a batch of outcomes to the window if the state's generation is still
-- the batch's, starts a state that does not exist yet, and reads fields.
--
-- KEYS[1] the state (a hash), KEYS[2] its window (a hash; same key slot)
-- ARGV: n, then n fields of the state to read;
--       m, then m fields of the window to read;
--       the batch: kind ('none', 'time' or 'count'), its generation, calls,
--       failed, slow, then for 'time' the bucket's field and index, for
--       'count' the fewest calls the window keeps
-- Reply: {seconds, microseconds, the n values, the m values} (false: absent)
--
-- Integers go through string.format('%d'): tostring keeps 14 digits only.
local state, window = KEYS[1], KEYS[2]
local clock = redis.call('TIME')
local function int(n)
  return string.format('%d', n)
end
local i = 1
local function arg()
  local value = ARGV[i]
  i = i + 1
  return value
end

local state_fields = {}
for _ = 1, tonumber(arg()) do
  state_fields[#state_fields + 1] = arg()
end
local window_fields = {}
for _ = 1, tonumber(arg()) do
  window_fields[#window_fields + 1] = arg()
end

-- A state seen for the first time (or lost with Redis's data) starts its
-- versions and generations at the time, so that they never repeat.
if redis.call('HEXISTS', state, 'version') == 0 then
  local now = int(tonumber(clock[1]) * 1000000 + tonumber(clock[2]))
  redis.call('HSET', state, 'version', now, 'gen', now, 'state', '0')
  redis.call('DEL', window)
end

local kind, generation = arg(), arg()
local calls, failed, slow = tonumber(arg()), tonumber(arg()), tonumber(arg())
if kind ~= 'none' and calls > 0 and redis.call('HGET', state, 'gen') == generation then
  if kind == 'time' then
    -- A bucket field holds "index calls failed slow"; one of another index
    -- is replaced.
    local field, index = arg(), arg()
    local c, f, s = calls, failed, slow
    local old = redis.call('HGET', window, field)
    if old then
      local at, oc, of, os = string.match(old, '^(%d+) (%d+) (%d+) (%d+)$')
      if at == index then
        c, f, s = c + tonumber(oc), f + tonumber(of), s + tonumber(os)
      end
    end
    redis.call('HSET', window, field, string.format('%s %d %d %d', index, c, f, s))
  else
    -- A queue of entries "calls failed slow" with running totals, keeping
    -- the fewest entries that hold at least `keep` calls.
    local keep = tonumber(arg())
    local tail = tonumber(redis.call('HGET', window, 'tail') or '0') or 0
    redis.call('HSET', window, 'e' .. tail, string.format('%d %d %d', calls, failed, slow),
      'tail', int(tail + 1))
    local total = redis.call('HINCRBY', window, 'calls', int(calls))
    redis.call('HINCRBY', window, 'failed', int(failed))
    redis.call('HINCRBY', window, 'slow', int(slow))
    local head = tonumber(redis.call('HGET', window, 'head') or '0') or 0
    while head < tail do
      local entry = redis.call('HGET', window, 'e' .. head)
      local c, f, s = string.match(entry or '', '^(%d+) (%d+) (%d+)$')
      if not c then
        break
      end
      c = tonumber(c)
      if total - c < keep then
        break
      end
      total = redis.call('HINCRBY', window, 'calls', int(-c))
      redis.call('HINCRBY', window, 'failed', int(-tonumber(f)))
      redis.call('HINCRBY', window, 'slow', int(-tonumber(s)))
      redis.call('HDEL', window, 'e' .. head)
      head = head + 1
    end
    redis.call('HSET', window, 'head', int(head))
  end
end

local reply = {clock[1], clock[2]}
if #state_fields > 0 then
  for _, value in ipairs(redis.call('HMGET', state, unpack(state_fields))) do
    reply[#reply + 1] = value
  end
end
if #window_fields > 0 then
  for _, value in ipairs(redis.call('HMGET', window, unpack(window_fields))) do
    reply[#reply + 1] = value
  end
end
return reply
