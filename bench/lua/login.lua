-- POST /api/v1/auth/login as the benchmark's user: each request verifies the password with Argon2id at Strata's
-- defaults. The JSON body ({"email": …, "password": …}, built by the driver) is in the environment as
-- STRATA_BENCH_LOGIN_BODY, off the command line. The driver runs this with one connection per core, the size of
-- Strata's hashing pool, so every answer should be 200 (a full pool answers 503, SPEC §14). A sign-in carries no
-- bearer token, so the one common.lua adds is taken off.

local prepared

function prepare()
  local body = assert(os.getenv("STRATA_BENCH_LOGIN_BODY"), "STRATA_BENCH_LOGIN_BODY is not set")
  assert(body ~= "", "STRATA_BENCH_LOGIN_BODY is empty")
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = nil
  prepared = wrk.format("POST", "/api/v1/auth/login", headers, body)
end

function request()
  return prepared
end
