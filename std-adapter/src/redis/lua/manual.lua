-- Manual control for the whole fleet. ARGV[9]: 'force_open', 'disable' or 'reset'.
local op = ARGV[9]
local s = load()
local from = s.state
if op == 'force_open' then
  if s.state == FORCED_OPEN then
    return reply(s, 0)
  end
  enter(s, FORCED_OPEN)
elseif op == 'disable' then
  if s.state == DISABLED then
    return reply(s, 0)
  end
  enter(s, DISABLED)
else
  if s.state == CLOSED then
    -- Already closed: only its failures are forgotten, as the core does.
    if s.failures > 0 then
      s.failures = 0
      save(s)
    end
    return reply(s, 0)
  end
  enter(s, CLOSED)
end
s.trips = 0
save(s)
return reply(s, 0, from)
