-- wrk script: like requests.lua, but each wrk thread stops after the number of responses given
-- as the second script argument (used to store an exact number of threads for the memory figure).
-- wrk's main thread sleeps for the whole -d duration whatever its threads do, so each thread
-- prints FILL_DONE when it stops and bench/run.py then ends wrk with SIGINT (it still reports).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "requests.lua")

local limit = 0
local received = 0
local base_init = init

function init(args)
  base_init(args)
  limit = tonumber(args[2])
end

function response(status, headers, body)
  received = received + 1
  if received == limit then
    io.write("FILL_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end
