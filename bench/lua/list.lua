-- GET /api/v1/{collection}?filter=status='published'&sort=-created_at&limit=20: the newest page of published
-- records. `collection` is set by the driver in front of this script: "posts" (list rule) or "notes" (public).

local prepared

function prepare()
  local path = "/api/v1/" .. collection .. "?filter=status%3D%27published%27&sort=-created_at&limit=20"
  prepared = wrk.format("GET", path, headers)
end

function request()
  return prepared
end
