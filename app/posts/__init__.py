"""Posts: HTML pages, and the queries and changes the JSON API shares."""
