"""The reliability harness: the service as it runs in production (gunicorn gthread + a Celery worker
with beat) on a private PostgreSQL cluster and a private Redis that it may kill and restart,
concurrent API clients, fault injection and the checks that prove nothing was lost or duplicated.

`make reliability` runs the full size (`python -m crowdpay.tests.reliability`); the tests in
`crowdpay/tests/test_reliability_*.py` run a small one inside `make test`. It never touches the
shared PostgreSQL or Redis: everything it kills, it started itself.
"""
