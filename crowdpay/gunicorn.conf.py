"""Production server: `gunicorn -c crowdpay/gunicorn.conf.py crowdpay.wsgi`.

The gthread worker serves each request on a thread of a pool, so a client long-polling
`GET /v1/operations/{id}?wait=30` occupies one thread (sleeping, no transaction open), not a
whole worker process: `workers x threads` requests are served at once. Each thread keeps its
own database connection (CONN_MAX_AGE), so size PostgreSQL's max_connections for
`workers x threads` per instance.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# Longer than the longest long-poll (30 s), so a waiting request is never cut short.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 35
keepalive = 5
wsgi_app = "crowdpay.wsgi:application"
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "") else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
