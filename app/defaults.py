"""Defaults in one place (as rq keeps ``rq/defaults.py``): what the app does when the environment
says nothing, and the fixed numbers of the delivery machinery.

``app.config`` reads each setting from the environment with the default named here; code reads
``current_app.config[...]`` and never restates a default. The names that are settings are the
environment variables' names (see ``.env.example``).
"""
from __future__ import annotations

# -- mail and text messages -----------------------------------------------------------------------
MAIL_BATCH_SIZE = 100                              # messages per batch job: one SMTP connection each
MAIL_RETRY_INTERVALS = (5, 30, 120, 600, 1800)     # seconds between RQ's retries of every send job
MAIL_TIMEOUT = 10.0                                # seconds per SMTP operation
SMS_TIMEOUT = 10.0                                 # seconds per SMS provider request

# -- the delivery log (claims, retries, sweeps) ---------------------------------------------------
DELIVERY_MAX_ATTEMPTS = 8          # a row given back this many times fails for good
DELIVERY_RETRY_IN = 30             # seconds: a single message given back after a transient error is due again
DELIVERY_STALE_CLAIM_SECONDS = 30  # a claim without a heartbeat this long counts as abandoned
DELIVERY_SWEEP_SECONDS = 15        # how often the delivery sweeper runs
DELIVERY_SWEEP_GRACE_SECONDS = 60  # a pending row this old without a queued job is swept
DELIVERY_SWEEP_LIMIT = 20_000      # rows a sweep looks at, at most
DELIVERY_OVERDUE_SECONDS = 600     # /healthz says "degraded" past this
DELIVERY_RETENTION_DAYS = 90       # sent and failed rows are deleted after this
BATCH_TIMEOUT = 1800               # seconds a batch job may run: 100 slow SMTP sends fit with room to spare
BATCH_RESULT_TTL = 3600            # finished batches stay visible in rq info / the dashboard for an hour
OVERDUE_RETRY_SECONDS = 120        # a retry scheduled this long ago and not yet run is taken as lost

# -- the scheduler ---------------------------------------------------------------------------------
REMINDER_SWEEP_SECONDS = 30
SCHEDULER_RESYNC_SECONDS = 60

# -- Redis and the cache ---------------------------------------------------------------------------
REDIS_RETRIES = 6                  # the queue client's retries of a dropped connection (about 7 s in all)
REDIS_RETRY_MAX_BACKOFF = 2.0      # seconds, the longest wait between two of them
CACHE_TTL = 300                    # seconds a cached post page lives
CACHE_REDIS_TIMEOUT = 0.25         # seconds: a slow cache is skipped, not waited for
CACHE_LOCK_TIMEOUT = 5.0           # seconds one request may hold the recompute lock
CACHE_LOCAL_MAX_BYTES = 32 * 1024 * 1024

# -- members ---------------------------------------------------------------------------------------
VERIFICATION_CODE_TTL = 600
VERIFICATION_MAX_ATTEMPTS = 5
VERIFICATION_RESEND_COOLDOWN = 60

# -- pages -----------------------------------------------------------------------------------------
POSTS_PER_PAGE = 20                # pages and API alike
POSTS_MAX_PER_PAGE = 1000
MAX_CONTENT_LENGTH = 1024 * 1024   # bytes: a 50,000-character announcement in Hangul, form-encoded, is ~450 KB
