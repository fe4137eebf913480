-- The prelude of every breaker script: its hash, the time, the configuration,
-- and the helpers that read, change and write the state.
--
-- KEYS[1]  the breaker's hash
-- ARGV[1..8] the configuration of the calling process: failure_threshold,
--   success_threshold, half_open_max_calls, open duration (us), open duration
--   multiplier, max open duration (us, 0: none), max wait in half-open (us, 0:
--   none), probe lease (us)
--
-- Time is Redis's (TIME, in microseconds), never the caller's. Integers are
-- written with string.format('%d'): Lua's tostring keeps only 14 digits.
local key = KEYS[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED = 0, 1, 2, 3, 4
local MAX_TRIPS = 127

local cfg = {
  failure_threshold = tonumber(ARGV[1]),
  success_threshold = tonumber(ARGV[2]),
  half_open_max_calls = tonumber(ARGV[3]),
  open = tonumber(ARGV[4]),
  multiplier = tonumber(ARGV[5]),
  max_open = tonumber(ARGV[6]),
  max_wait = tonumber(ARGV[7]),
  lease = tonumber(ARGV[8]),
}

local function int(n)
  return string.format('%d', n)
end

-- Leases of probes in flight: "token expiry token expiry ...".
local function decode_leases(text)
  local leases = {}
  if text then
    for token, expiry in string.gmatch(text, '(%S+) (%d+)') do
      leases[token] = tonumber(expiry)
    end
  end
  return leases
end

local function encode_leases(leases)
  local parts = {}
  for token, expiry in pairs(leases) do
    parts[#parts + 1] = token .. ' ' .. int(expiry)
  end
  return table.concat(parts, ' ')
end

local function load()
  local v = redis.call('HMGET', key, 'state', 'gen', 'failures', 'trips', 'until',
    'successes', 'leases', 'active', 'version')
  local gen = tonumber(v[2])
  local version = tonumber(v[9])
  if not gen or not version then
    -- A breaker seen for the first time (or lost with Redis's data) starts its
    -- generations and versions at the time, so that they never repeat.
    gen = now
    version = now
    redis.call('HSET', key, 'gen', int(gen), 'version', int(version))
  end
  return {
    state = tonumber(v[1]) or CLOSED,
    gen = gen,
    failures = tonumber(v[3]) or 0,
    trips = tonumber(v[4]) or 0,
    deadline = tonumber(v[5]) or 0,
    successes = tonumber(v[6]) or 0,
    leases = decode_leases(v[7]),
    active = tonumber(v[8]) or 0,
    version = version,
  }
end

-- Every write moves the version: a process keeps the reply with the highest.
local function save(s)
  s.version = s.version + 1
  redis.call('HSET', key, 'version', int(s.version), 'state', int(s.state), 'gen', int(s.gen),
    'failures', int(s.failures),
    'trips', int(s.trips), 'until', int(s.deadline), 'successes', int(s.successes),
    'leases', encode_leases(s.leases), 'active', int(s.active))
end

-- Drops the leases that expired; returns the number left.
local function purge(s)
  local held = 0
  for token, expiry in pairs(s.leases) do
    if expiry <= now then
      s.leases[token] = nil
    else
      held = held + 1
    end
  end
  return held
end

local function count(leases)
  local held = 0
  for _ in pairs(leases) do
    held = held + 1
  end
  return held
end

-- How long Open lasts after `trips` consecutive trips, as the core computes it.
local function open_after(trips)
  if trips <= 1 or cfg.multiplier == 1 then
    return cfg.open
  end
  local grown = math.floor(cfg.open * math.pow(cfg.multiplier, trips - 1))
  if cfg.max_open > 0 and grown > cfg.max_open then
    return cfg.max_open
  end
  -- Beyond 2^52 us (142 years) a double stops counting microseconds.
  return math.min(grown, 4503599627370496)
end

-- A new round: every transition moves the generation, which makes the
-- outcomes of permits of the previous round stale.
local function enter(s, state)
  s.state = state
  s.gen = s.gen + 1
  s.failures = 0
  s.successes = 0
  s.leases = {}
end

local function trip(s, trips)
  enter(s, OPEN)
  s.trips = math.min(trips, MAX_TRIPS)
  s.deadline = now + open_after(s.trips)
end

-- The reply of every script: {verdict, state, gen, failures, trips, open
-- remaining (us), successes, probes in flight, state before the transition
-- this script made (-1: none), version}.
local function reply(s, verdict, from)
  local remaining = 0
  if s.state == OPEN and s.deadline > now then
    remaining = s.deadline - now
  end
  return {verdict, s.state, s.gen, s.failures, s.trips, remaining, s.successes,
    count(s.leases), from or -1, s.version}
end
