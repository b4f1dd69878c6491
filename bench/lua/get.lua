-- GET /api/v1/{collection}/{id} with an id drawn at random from the collection's seeded records (also the
-- ceiling's load). `collection` is set by the driver in front of this script: "posts" (view rule) or "notes"
-- (public).

local prefix

function prepare()
  assert(#ids > 0, "the get load needs the ids file")
  prefix = "/api/v1/" .. collection .. "/"
end

function request()
  return wrk.format("GET", prefix .. ids[math.random(#ids)], headers)
end
