-- Adds a process's batch of Closed outcomes to the shared consecutive-failure
-- count, and trips the breaker when it reaches the threshold.
-- ARGV[9] the generation the outcomes were admitted in (-1: not known yet, a
-- process that has not read the state: the current round); ARGV[10] failures in
-- the batch; ARGV[11] failures since its last success; ARGV[12] 1 if the batch
-- holds a success (which ended the fleet's run of failures).
local gen = tonumber(ARGV[9])
local failures = tonumber(ARGV[10])
local trailing = tonumber(ARGV[11])
local reset = ARGV[12] == '1'
local s = load()
if s.state ~= CLOSED or (gen >= 0 and s.gen ~= gen) then
  -- Outcomes of a round that is over: ignored.
  return reply(s, 0)
end
local run = s.failures + failures
if reset then
  run = trailing
end
if run >= cfg.failure_threshold then
  trip(s, 1)
  save(s)
  return reply(s, 0, CLOSED)
end
if run ~= s.failures then
  s.failures = run
  save(s)
end
return reply(s, 0)
