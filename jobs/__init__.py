"""Code that runs in `rq worker` processes, and the helpers the web uses to hand work over.

The web process imports only ``jobs.queues`` and ``jobs.enqueue``; job functions
are enqueued by dotted path so worker-only code stays out of the web process.
"""
