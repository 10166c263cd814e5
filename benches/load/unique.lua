-- wrk script of benches/load.sh: each request a query string never asked before (an ignored
-- parameter r=random), so the tenant list's shared rendering never serves it and the run
-- measures pages rendered for their own request. The summary line is stats.lua's.
dofile("benches/load/stats.lua")
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end
request = function()
  return wrk.format(nil, wrk.path .. "&r=" .. math.random(1, 2000000000))
end
