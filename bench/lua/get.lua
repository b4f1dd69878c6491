-- GET /api/v1/posts/{id} with an id drawn at random from the seeded posts (also the ceiling's load).

function prepare()
  assert(#ids > 0, "the get load needs the ids file")
end

function request()
  return wrk.format("GET", "/api/v1/posts/" .. ids[math.random(#ids)], headers)
end
