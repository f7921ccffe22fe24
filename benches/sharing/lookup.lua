-- wrk script: GET one record by a random key through the data API, with projection.
-- Arguments (after --): TOKEN CODE ROWS
local token, code, rows
function init(args)
    token, code, rows = args[1], args[2], tonumber(args[3])
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
function request()
    local path = string.format("/api/v1/data/%s/records/K%012d?fields=ID_NUMBER,FULL_NAME,REGION",
        code, math.random(1, rows))
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
