-- Asks for a cancel (docs/protocol.md section 11). A process whose producer runs inside a hub that holds its lease is
-- not ended here: that hub is told on the control channel, fires its producer's token, and only then ends it as
-- cancelled, so nobody sees process_cancelled before the producer was told. Any other running process is left for
-- the caller to end at once (end.lua). Nothing changes for a process that has ended.
-- A process whose producer runs inside the asking hub itself is only marked: that hub fires its producer's token once
-- this has returned (so a cancel Redis refused leaves the producer going), and then ends it (end.lua). The mark is
-- the stored cancel; nothing is published, so no tab can see the cancel before the token fired.
--
-- A cancel sent to another hub also leaves who asked in KEYS[3] for ARGV[7] ms: should that hub be found lost before it
-- ended the process, the hub that ends its runs ends this one as cancelled by them, not as hub_lost (decision 76). It
-- expires so that only a cancel still on its way counts.
--
-- KEYS[1] epoch  KEYS[2] the process's hash  KEYS[3] the process's sent-cancel key
-- ARGV[1] epoch  ARGV[2] id  ARGV[3] who cancels  ARGV[4] the prefix of hub lease keys  ARGV[5] the control channel
-- ARGV[6] the asking hub  ARGV[7] how long the sent-cancel key lasts (ms)
-- Returns {'own'} | {'requested', hub} | {'direct'} | {'ended', status} | {'missing'} | {'epoch', current}
local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then
  return {'epoch', epoch or ''}
end
local state = redis.call('HMGET', KEYS[2], 'status', 'in_process', 'hub')
if not state[1] then
  return {'missing'}
end
if state[1] ~= 'running' then
  return {'ended', state[1]}
end
if state[2] == '1' and state[3] == ARGV[6] then
  redis.call('HSET', KEYS[2], 'cancel_requested', ARGV[3])
  return {'own'}
end
if state[2] == '1' and state[3] ~= '-' and redis.call('EXISTS', ARGV[4] .. state[3]) == 1 then
  redis.call('HSET', KEYS[2], 'cancel_requested', ARGV[3])
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[7])
  redis.call('PUBLISH', ARGV[5], 'cancel ' .. state[3] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
  return {'requested', state[3]}
end
return {'direct'}
