"""The local compose stack (`docker compose up` on a developer machine): the deployed settings with
the built-in sandbox KYC and payment providers, which production refuses. Never deploy with it."""

from .deploy import *  # noqa: F403
