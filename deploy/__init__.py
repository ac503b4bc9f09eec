"""Deployment: the `make run` launcher (deploy.local), init.d, systemd, supervisor, Docker and AWS notes.

A package so that `python -m deploy.local.stack` runs and the import contracts (.importlinter) see it."""
