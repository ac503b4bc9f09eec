"""Local services for development, tests and benchmarks: an embedded Redis, a mail catcher, the launcher."""
