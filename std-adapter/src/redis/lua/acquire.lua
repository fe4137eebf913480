-- Asks for a probe slot (called when the caller's view is Open past its end,
-- or HalfOpen). ARGV[9]: the probe's lease token.
-- Verdicts: 0 admitted outside half-open (closed or disabled), 1 admitted as
-- a probe (the lease is taken), 2 rejected.
local token = ARGV[9]
local s = load()
if s.state == CLOSED or s.state == DISABLED then
  return reply(s, 0)
end
if s.state == FORCED_OPEN then
  return reply(s, 2)
end
if s.state == OPEN then
  if now < s.deadline then
    return reply(s, 2)
  end
  -- The open duration is over: this call is the first probe of a new round.
  enter(s, HALF_OPEN)
  s.leases[token] = now + cfg.lease
  s.active = now
  save(s)
  return reply(s, 1, OPEN)
end
-- HalfOpen: the leases of probes that never answered have expired by now.
local held = purge(s)
if held < cfg.half_open_max_calls then
  s.leases[token] = now + cfg.lease
  s.active = now
  save(s)
  return reply(s, 1)
end
if cfg.max_wait > 0 and now - s.active >= cfg.max_wait then
  -- Every slot is held and no probe was admitted or answered for too long.
  trip(s, s.trips + 1)
  save(s)
  return reply(s, 2, HALF_OPEN)
end
return reply(s, 2)
