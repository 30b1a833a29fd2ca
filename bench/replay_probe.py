"""Child process of the replay bench: run `replay_events --dry-run` and print its figures as JSON."""

import io
import json
import time

import django

if __name__ == "__main__":
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.replay import event_count, rss_now_mb

    connection.ensure_connection()
    events = event_count()
    before = rss_now_mb()
    out = io.StringIO()
    start = time.perf_counter()
    call_command("replay_events", "--dry-run", stdout=out, stderr=out)
    seconds = time.perf_counter() - start
    print(out.getvalue().strip())
    print(
        json.dumps(
            {
                "events": events,
                "seconds": round(seconds, 3),
                "per_second": round(events / seconds),
                "rss_before_mb": before,
                "output": out.getvalue().strip().splitlines()[-1],
            }
        )
    )
