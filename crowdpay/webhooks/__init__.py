"""Webhooks to subscribers (Standard Webhooks) and balance monitors: an outbox written in the same
transaction as the change it reports, delivered by Celery, signed, retried, logged and replayable."""
