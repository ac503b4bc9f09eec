"""Journeys in a real browser (a package, so its stack and browser live only as long as its tests)."""
