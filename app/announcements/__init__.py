"""Announcements: one message from an admin to every member, sent in batches by RQ workers."""
