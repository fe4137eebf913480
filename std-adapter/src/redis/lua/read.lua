-- Reads the shared state (the periodic sync of every process). Writes nothing
-- but the first generation of a breaker that has none.
local s = load()
purge(s)
return reply(s, 0)
