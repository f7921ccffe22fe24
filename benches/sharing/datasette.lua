-- wrk script: GET one row by a random key from Datasette's row endpoint.
-- Arguments (after --): TABLE ROWS
local table_name, rows
function init(args)
    table_name, rows = args[1], tonumber(args[2])
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
function request()
    return wrk.format("GET", string.format("/api_bench/%s/K%012d.json?_shape=objects", table_name, math.random(1, rows)))
end
