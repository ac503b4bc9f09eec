"""rq-scheduler: the periodic schedule (``scheduler.periodic``, the celery-beat table) and timed jobs."""
