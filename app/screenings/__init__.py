"""Screenings and RSVPs: HTML pages, and the service the JSON API shares."""
