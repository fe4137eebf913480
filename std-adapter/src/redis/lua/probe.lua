-- The end of a probe: ARGV[9] its generation, ARGV[10] its lease token,
-- ARGV[11] 0 success, 1 failure, 2 released without an outcome.
-- A probe of an earlier round changes nothing; a probe whose lease expired
-- still counts if its round is current (its answer is real news).
local gen = tonumber(ARGV[9])
local token = ARGV[10]
local outcome = ARGV[11]
local s = load()
if s.state ~= HALF_OPEN or s.gen ~= gen then
  return reply(s, 0)
end
s.leases[token] = nil
if outcome == '2' then
  save(s)
  return reply(s, 0)
end
s.active = now
if outcome == '1' then
  trip(s, s.trips + 1)
  save(s)
  return reply(s, 0, HALF_OPEN)
end
s.successes = s.successes + 1
if s.successes >= cfg.success_threshold then
  enter(s, CLOSED)
  s.trips = 0
  save(s)
  return reply(s, 0, HALF_OPEN)
end
save(s)
return reply(s, 0)
