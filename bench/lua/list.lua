-- GET /api/v1/posts?filter=status='published'&sort=-created_at&limit=20: the newest page of published posts.

local path = "/api/v1/posts?filter=status%3D%27published%27&sort=-created_at&limit=20"
local prepared

function prepare()
  prepared = wrk.format("GET", path, headers)
end

function request()
  return prepared
end
