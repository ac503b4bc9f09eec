"""Accounts: contact details (phone, email), verification codes, rate limits, member settings."""
