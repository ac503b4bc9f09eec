"""rq-scheduler: the periodic schedule (what celery-beat did) and timed reminders.

``python -m scheduler --url REDIS_URL --interval 1`` registers the periodic
table (``scheduler.periodic``) and then runs rq-scheduler, which moves due jobs
onto the queues.
"""
