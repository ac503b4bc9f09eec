"""Members: sign up, sign in, sign out (HTML pages; the JSON API shares the service)."""
