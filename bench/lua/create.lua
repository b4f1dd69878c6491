-- POST /api/v1/posts with a random valid body of the seeded posts' shape (the same words as bench/src/posts.rs),
-- written by the benchmark's user, whose id is in the environment as STRATA_BENCH_AUTHOR (the create rule checks
-- that the author is the caller).

local words = {
  "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
  "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
  "xray", "yankee", "zulu", "strata", "record", "schema", "commit", "index", "query",
}

local function some_words(n)
  local out = {}
  for i = 1, n do
    out[i] = words[math.random(#words)]
  end
  return table.concat(out, " ")
end

local author

function prepare()
  headers["Content-Type"] = "application/json"
  author = assert(os.getenv("STRATA_BENCH_AUTHOR"), "STRATA_BENCH_AUTHOR is not set")
end

function request()
  local status = "draft"
  if math.random(2) == 2 then
    status = "published"
  end
  local body = string.format(
    '{"title":"%s","body":"%s","status":"%s","views":%d,"author":"%s"}',
    some_words(math.random(3, 7)), some_words(32), status, math.random(0, 9999), author)
  return wrk.format("POST", "/api/v1/posts", headers, body)
end
