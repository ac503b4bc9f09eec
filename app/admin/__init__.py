"""Admin pages under /admin: announcements and the RQ dashboard (admins only)."""
