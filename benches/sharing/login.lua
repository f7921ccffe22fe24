-- wrk script: wrong-password logins, each from a different address (X-Forwarded-For
-- through a trusted proxy), so the per-source throttle never answers for argon2: every
-- attempt hashes. The worst case for the data API next to it: a botnet guessing passwords.
local n = 0
function init(args)
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
function request()
    n = n + 1
    local address = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
    local body = string.format('{"username":"bench-guess-%d","password":"wrong-password-%d"}', n % 1000, n)
    return wrk.format("POST", "/api/v1/auth/login",
        { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = address }, body)
end
