"""Who is calling: widget owners (v1), widgets (v2 Basic) and users (JWT)."""
