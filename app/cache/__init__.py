"""The cache layer: Flask-Caching on the cache Redis, JSON only, versioned entries."""
