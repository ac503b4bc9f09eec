"""Code that runs in `rq worker` processes: the job functions and the worker class.

Nothing in ``app`` imports this package: the web (and the scheduler) hand work over
through ``app.outbox``, which names job functions by dotted path.
"""
