"""Part "admin": every back-office page's server time, as a compliance officer, over a seed_demo
database (100,000 wallets and 1,000,000 events at full size; issue 21 aims at <= 300 ms each).

The database is loaded by `crowdpay.demo_data` (what `manage.py seed_demo` runs) unless it already
holds a data set of at least the requested size and the run was asked to reuse it
(`--admin-reuse`): loading a million events takes minutes, timing the pages much less. Pages are
requested in-process through Django's test client (the whole request: middleware, the admin view,
its queries, the template), `requests` times each after one warm-up request; reported per page: the
status, p50 and p95 of the server time, and the number of SQL queries of one request.

Pages: the admin index and the compliance dashboard; every changelist an officer may open (the
admin site's registry, so a page added tomorrow is timed tomorrow), with the filters and searches
officers use most (a wallet's events, the event type filter on a rare type, open review cases,
frozen wallets, declines); change pages of a busy wallet, an open case, a KYC profile, a saga, an
event, a journal entry, a hold and a CrowdPod.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .stats import ms, percentile

AIM_MS = 300.0


@dataclass(frozen=True)
class AdminSizes:
    wallets: int
    events: int
    requests: int


FULL = AdminSizes(wallets=100_000, events=1_000_000, requests=10)
SMOKE = AdminSizes(wallets=200, events=2_000, requests=2)


def ensure_data(sizes: AdminSizes, *, reuse: bool, say) -> dict:
    """Load the seed_demo data set unless a big enough one is there and may be reused."""
    from django.db import connection

    from crowdpay import demo_data
    from wallets.models import Wallet

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM wallets_wallet")
        wallets = cursor.fetchone()[0]
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'wallets_event'")
        row = cursor.fetchone()
        events = int(row[0]) if row else 0
    if reuse and wallets >= sizes.wallets and events >= sizes.events * 0.95:
        say(f"admin: reusing the data set ({wallets:,} wallets, about {events:,} events)")
        return {"reused": True, "wallets": wallets, "events": events}
    say(f"admin: seed_demo --wallets {sizes.wallets:,} --events {sizes.events:,}")
    summary = demo_data.seed(
        wallets=sizes.wallets, events=sizes.events, force=Wallet.objects.exists(), say=lambda m: say(f"admin: {m}")
    )
    return {"reused": False, **{k: summary[k] for k in ("wallets", "events", "seconds_loading", "seconds_total")}}


def _pages(officer) -> list[tuple[str, str]]:
    """(label, url) of every page timed, built from the data in the database: the changelists
    of every model the officer may view."""
    from django.contrib import admin
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse

    from compliance.models import KycProfile, ReviewCase
    from sagas.models import Saga
    from wallets.models import Event, Hold, JournalEntry, Wallet
    from wallets.pods.models import Pod

    pages = [("index", reverse("admin:index"))]
    try:
        pages.append(("compliance dashboard", reverse("admin:compliance_dashboard")))
    except NoReverseMatch:
        pass
    from django.test import RequestFactory

    request = RequestFactory().get(reverse("admin:index"))
    request.user = officer
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if not model_admin.has_view_permission(request):
            continue
        pages.append((f"list {opts.label_lower}", reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")))

    busy = (
        Event.objects.filter(wallet__in=Wallet.objects.filter(kind=Wallet.Kind.USER).order_by("-version")[:1])
        .values_list("wallet_id", flat=True)
        .first()
    )
    rare = Event.objects.filter(type="WalletFrozen").values_list("type", flat=True).first() or "WalletFrozen"
    events = reverse("admin:wallets_event_changelist")
    cases = reverse("admin:compliance_reviewcase_changelist")
    pages += [
        ("list events of one wallet (search)", f"{events}?q={busy}"),
        ("list events of one wallet (filter)", f"{events}?wallet__id__exact={busy}"),
        ("list events, type filter (rare type)", f"{events}?type={rare}"),
        ("list events, type filter (common type)", f"{events}?type=WalletCredited"),
        ("list review cases, open", f"{cases}?status__exact=OPEN"),
        ("list wallets, frozen", f"{reverse('admin:wallets_wallet_changelist')}?status__exact=FROZEN"),
        (
            "list risk assessments, declines",
            f"{reverse('admin:compliance_riskassessment_changelist')}?outcome__exact=decline",
        ),
        ("list sagas, in review", f"{reverse('admin:sagas_saga_changelist')}?state__exact=IN_REVIEW"),
    ]

    def change(label: str, model, pk) -> None:
        if pk is not None:
            opts = model._meta
            pages.append((f"page {label}", reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])))

    change("wallet (busy)", Wallet, busy)
    change(
        "review case (open)", ReviewCase, ReviewCase.objects.filter(status="OPEN").values_list("pk", flat=True).first()
    )
    change(
        "KYC profile (pending)",
        KycProfile,
        KycProfile.objects.filter(status="PENDING").values_list("pk", flat=True).first(),
    )
    change("saga (transfer)", Saga, Saga.objects.filter(kind="TRANSFER").values_list("pk", flat=True).first())
    change("event", Event, Event.objects.filter(wallet_id=busy).values_list("pk", flat=True).first())
    change("journal entry", JournalEntry, JournalEntry.objects.values_list("pk", flat=True).first())
    change("hold", Hold, Hold.objects.values_list("pk", flat=True).first())
    pod = Pod.objects.annotate(n=Count("members")).values_list("pk", flat=True).first()
    change("CrowdPod", Pod, pod)
    return pages


def time_pages(sizes: AdminSizes, say) -> list[dict]:
    import logging

    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crowdpay import demo_data

    officer = get_user_model().objects.get(username=demo_data.OFFICERS[0])
    client = Client()
    client.force_login(officer)
    rows = []
    logging.getLogger("django.request").setLevel(logging.ERROR)  # a 403 would log a traceback per request
    for label, url in _pages(officer):
        client.get(url)  # warm-up: the session, permissions, the template cache
        reset_queries()  # the client's request_started signal empties the log: start from empty
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        queries = list(captured.captured_queries)  # read now: the next request empties the log
        samples = []
        for _ in range(sizes.requests):
            started = time.perf_counter()
            status = client.get(url).status_code
            samples.append(time.perf_counter() - started)
        p50, p95 = ms(percentile(samples, 50)), ms(percentile(samples, 95))
        slowest = max(queries, key=lambda q: float(q["time"]), default=None)
        rows.append(
            {
                "page": label,
                "url": url,
                "status": status if status == response.status_code else f"{response.status_code}/{status}",
                "p50_ms": p50,
                "p95_ms": p95,
                "queries": len(queries),
                "slowest_query_ms": round(float(slowest["time"]) * 1000, 1) if slowest else None,
                "slowest_query": slowest["sql"][:300] if slowest else None,
                "within_aim": p95 is not None and p95 <= AIM_MS,
            }
        )
        say(f"admin: {label}: p50 {p50} ms, p95 {p95} ms, {len(queries)} queries")
    return rows


def run(*, smoke: bool, reuse: bool, say) -> dict:
    """Load (or reuse) the data set, then time every page. CaptureQueriesContext needs the
    connection's query log, which DEBUG=False keeps off outside it: it turns it on itself."""
    import os

    sizes = SMOKE if smoke else FULL
    data = ensure_data(sizes, reuse=reuse, say=say)
    load = os.getloadavg()
    pages = time_pages(sizes, say)
    return {
        "sizes": sizes.__dict__,
        "data": data,
        "load_average_before": [round(x, 2) for x in load],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "aim_ms": AIM_MS,
        "pages": pages,
        "pages_over_aim": [p["page"] for p in pages if not p["within_aim"]],
    }


def table(result: dict) -> str:
    rows = [("admin page (as an officer)", "status", "p50 ms", "p95 ms", "queries", "slowest query ms")]
    for page in result["pages"]:
        rows.append(
            (
                page["page"],
                str(page["status"]),
                f"{page['p50_ms']:,.1f}",
                f"{page['p95_ms']:,.1f}",
                str(page["queries"]),
                f"{page['slowest_query_ms']}" if page["slowest_query_ms"] is not None else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    data = result["data"]
    lines.append("")
    lines.append(
        f"admin: {data['wallets']:,} wallets, {data['events']:,} events "
        f"({'reused' if data['reused'] else 'loaded in ' + str(data.get('seconds_total')) + ' s'}); "
        f"{result['sizes']['requests']} requests per page after a warm-up; load average "
        f"{result['load_average_before']} -> {result['load_average_after']}; aim p95 <= {result['aim_ms']:.0f} ms; "
        f"over the aim: {', '.join(result['pages_over_aim']) or 'none'}"
    )
    return "\n".join(lines)
