-- Starts a new epoch when Redis went back within the current one (docs/protocol.md section 11.3): replaces the epoch
-- only if it is still the one the hub holds, so that of several hubs noticing the same loss, one new epoch results.
--
-- KEYS[1] epoch  ARGV[1] the epoch the hub holds  ARGV[2] the new one
-- Returns the epoch Redis holds after it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
