"""Every admin page, walked as every back-office role over a database holding every kind of object
in every state.

The pages are discovered, not listed: the admin site's own views, and every URL of every registered
ModelAdmin (`admin.site._registry`, `get_urls()`), custom views included, so a page registered
tomorrow is walked without anyone adding it here. Change pages and custom views are opened for an
object of every kind and state the admin shows (the states from the models' field choices), the
other object pages for one. Each must answer as the role demands (200, 403, or a redirect where the
admin redirects by design), never fail, and show personal data only unmasked to whoever may see
it. A URL whose arguments the walk cannot fill fails the walk: teach `_arguments` its new argument
rather than leave the page out.

Roles: a superuser, a compliance officer (the group of compliance/roles.py), a support agent
(`factories.SUPPORT_PERMISSIONS`: reads the ledger, sagas and CrowdPods, KYC masked) and an
anonymous visitor. Officers and support see the CrowdPod pages (200), read-only.
"""

from __future__ import annotations

import re
import traceback
import uuid
from dataclasses import dataclass
from decimal import Decimal
from itertools import cycle
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance import four_eyes, screening, selectors, services
from compliance.models import AuditEntry, DecisionRequest, KycProfile, ReviewCase, RiskAssessment
from compliance.tests.factories import officer_user, profile, saga_row, support_user
from crowdpay.webhooks.tests.factories import webhook_rows
from sagas import services as sagas
from sagas.models import FxRate, Payout, Saga, SagaStep
from wallets.models import Balance, Event, Hold, JournalEntry, Posting, Wallet
from wallets.pods.tests.factories import pod_rows
from wallets.tests.factories import WalletFactory, funded

# The back-office's write surface: where someone may add, change or delete at all (given the
# permission). Every other model is read-only for everyone, a superuser included: money, history
# and decisions change through services only.
WRITABLE = {
    "auth.user": {"add", "change", "delete"},
    "auth.group": {"add", "change", "delete"},
    "sagas.fxrate": {"add", "change"},  # with a reason, audited; never deleted
    "otp_totp.totpdevice": {"add", "change", "delete"},  # staff's second factor (superusers only)
    "sagas.payout": {"change"},  # the "mark paid / failed" actions; every field stays read-only
    "compliance.walletlimit": {"add", "change"},
}
# Pages that redirect by design, whoever asks: the frozen list's rows open the wallet page.
REDIRECTS = {"compliance_frozenwallet_change"}
# Site views the walk does not open, and why.
NOT_WALKED = {"logout": "POST only, and it ends the session the walk runs in"}
STANDARD_PAGES = ("changelist", "add", "history", "delete", "change")
ROLES = ("superuser", "officer", "support", "anonymous")
PLAIN_OBJECTS = 3  # objects walked of a model whose rows have no kind or state
PII = ("Ada Lovelace", "X1234567", "1815-12-10", "St James")  # as factories.profile submits it
# Choice fields that name no kind or state of an object (every value of them is not wanted).
NOT_STATES = {"currency", "base_currency", "country"}


def _choices(model, field: str) -> list[str]:
    """The values a field may take, from the model (a state added tomorrow is walked tomorrow)."""
    return [value for value, _ in model._meta.get_field(field).flatchoices]


# --- the data set ---------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    wallets: dict  # (kind, status) -> Wallet
    pending_profile: KycProfile
    open_case: ReviewCase


def _advance(saga: Saga) -> Saga:
    """Run the worker's steps until the saga waits (for a person, a payout) or ends."""
    for _ in range(10):
        before = saga.state
        saga = sagas.saga_advance(saga_id=saga.id)
        if saga.is_terminal or saga.state == before:
            break
    return saga


def _build_world() -> World:
    User = get_user_model()
    officer = officer_user("walk-officer")
    users = {
        "superuser": User.objects.create_superuser("walk-root", password="pw-root-123"),
        "officer": officer,
        "support": support_user("walk-support"),
    }

    # KYC/KYB profiles of both kinds in every status, submitted and decided through the services.
    profiles = {}
    for kind in _choices(KycProfile, "kind"):
        for status in _choices(KycProfile, "status"):
            if status == KycProfile.Status.UNVERIFIED:
                made = KycProfile.objects.create(owner_id=uuid.uuid4(), kind=kind)
            else:
                made = profile(uuid.uuid4(), status=status, kind=kind)
            assert made.status == status, f"teach factories.profile to reach {status}"
            profiles[kind, status] = made

    # Wallets of both kinds in every status, moved there by an officer (events and audit entries).
    owner = uuid.uuid4()
    profile(owner)
    main = funded(amount=100_000_00, owner_id=owner)
    wallets = {}
    for kind in _choices(Wallet, "kind"):
        for status in _choices(Wallet, "status"):
            if (kind, status) == (Wallet.Kind.USER, Wallet.Status.ACTIVE):
                wallet = main
            elif status == Wallet.Status.CLOSED:  # only an empty wallet closes
                wallet = WalletFactory(kind=kind, owner_id=owner)
            else:
                wallet = funded(amount=10_00, kind=kind, owner_id=owner)
            if status == Wallet.Status.FROZEN or (kind, status) == (Wallet.Kind.USER, Wallet.Status.CLOSED):
                services.wallet_freeze_by_officer(
                    wallet_id=wallet.id, officer=officer, reason_code="fraud", reason="card testing"
                )
            if status == Wallet.Status.CLOSED:
                services.wallet_close_by_officer(wallet_id=wallet.id, officer=officer, reason="customer left")
            wallets[kind, status] = Wallet.objects.get(pk=wallet.pk)
    pod = wallets[Wallet.Kind.POD, Wallet.Status.ACTIVE]
    eur = WalletFactory(base_currency="EUR", owner_id=owner)
    FxRate.objects.create(base="USD", quote="EUR", rate=Decimal("0.92"), source="walk")
    services.wallet_limit_set(wallet_id=main.id, daily_limit=50_000_00, officer=officer, reason="walk")

    # Sagas through the services: soft-declined fundings (cases open, approved and rejected), a
    # funding that succeeds, withdrawals whose payouts are pending, paid and failed, transfers.
    # (each flow from a wallet of its own: five screenings of one wallet within minutes score too)
    newcomer, payer = uuid.uuid4(), funded(amount=1000_00, owner_id=owner)
    profile(newcomer)
    reviewed = funded(amount=1000_00, owner_id=newcomer)

    def funding(wallet: Wallet, amount: int, currency: str) -> Saga:
        saga = sagas.funding_start(
            wallet_id=wallet.id,
            amount=amount,
            currency=currency,
            source="CARD",
            source_reference=f"ch_test_ok_{uuid.uuid4().hex[:8]}",
            reference=f"walk-{uuid.uuid4()}",
            requested_by="user:walk",
        )
        return _advance(saga)

    cases = []
    for _ in range(3):
        saga = funding(reviewed, 2500_00, "EUR")  # a large first amount, a new currency: review
        assert saga.state == Saga.State.IN_REVIEW
        cases.append(ReviewCase.objects.get(saga_id=saga.id))
    services.review_case_approve(case_id=cases[1].pk, officer=officer, reason="documents match")
    services.review_case_reject(case_id=cases[2].pk, officer=officer, reason="fraud")
    done = funding(main, 20_00, "USD")
    assert done.state == Saga.State.SUCCEEDED, (done.error_code, done.error_detail)

    for outcome in ("pending", "paid", "failed"):
        saga = _advance(
            sagas.withdraw_start(
                wallet_id=main.id,
                amount=30_00,
                currency="USD",
                destination="iban:DE89370400440532013000",
                reference=f"walk-{uuid.uuid4()}",
                requested_by="user:walk",
            )
        )
        assert saga.state == Saga.State.PAYOUT_REQUESTED
        if outcome != "pending":
            payout = Payout.objects.get(saga=saga)
            sagas.payout_mark(payout_id=payout.id, paid=outcome == "paid", actor="finance:walk", reason="walk")
            _advance(saga)

    def transfer(to: Wallet) -> Saga:
        return sagas.transfer_start(
            from_wallet_id=payer.id,
            to_wallet_id=to.id,
            amount=15_00,
            currency="USD",
            memo="walk",
            reference=f"walk-{uuid.uuid4()}",
            requested_by="user:walk",
        )

    assert transfer(pod).state == Saga.State.SUCCEEDED
    assert transfer(eur).state == Saga.State.FUNDS_HELD  # the FX quote is the worker's
    assert _advance(transfer(eur)).state == Saga.State.SUCCEEDED

    # A declined screening (no KYC) is a risk assessment of its own.
    screening.screen(operation="withdraw", wallet_id=WalletFactory().id, amount=1_00, currency="USD")

    # Every saga kind in every state of its FSM (the states from the field's choices): what the
    # services did not reach is a row in that state, spread over the wallets of every kind and status.
    reached = set(Saga.objects.values_list("kind", "state"))
    places = cycle(list(wallets.values()))
    for kind in _choices(Saga, "kind"):
        for state in _choices(Saga, "state"):
            if (kind, state) not in reached:
                saga_row(kind=kind, state=state, wallet=next(places), counterparty=pod)
    for wallet in wallets.values():  # every wallet page shows sagas, of every state
        saga_row(kind=Saga.Kind.TRANSFER, state=Saga.State.STARTED, wallet=wallet, counterparty=main)

    # Four-eyes requests of every kind, in every status, through the services (a second officer).
    second = officer_user("walk-officer-2")
    expiring = four_eyes.decision_request_create(
        kind=DecisionRequest.Kind.APPROVE_CASE, target_id=cases[0].pk, officer=officer, reason="large first funding"
    )
    four_eyes.decision_requests_expire(now=expiring.expires_at)
    suspect = funded(amount=10_00, owner_id=owner)
    services.wallet_freeze_by_officer(wallet_id=suspect.id, officer=officer, reason_code="fraud", reason="mule")
    asked = four_eyes.wallet_unfreeze_or_request(wallet_id=suspect.id, officer=officer, reason="cleared by the bank")
    four_eyes.decision_request_approve(request_id=asked.pk, officer=second, reason="bank letter checked")
    lift = four_eyes.wallet_limit_set_or_request(
        wallet_id=main.id, daily_limit=90_000_00, officer=officer, reason="business customer"
    )
    four_eyes.decision_request_reject(request_id=lift.pk, officer=second, reason="no documents")
    four_eyes.wallet_close_request(wallet_id=eur.id, officer=officer, reason="customer left")
    for digits in _choices(TOTPDevice, "digits"):  # staff's second factor
        TOTPDevice.objects.create(user=users["superuser"], name=f"walk-{digits}", digits=digits)

    webhook_rows(wallet=main)  # endpoints, monitors, deliveries and attempts in every state
    pod_rows()  # CrowdPods: members, goals, pledges, outflows, refunds in every state

    return World(
        users=users,
        wallets=wallets,
        pending_profile=profiles[KycProfile.Kind.PERSON, KycProfile.Status.PENDING],
        open_case=cases[0],
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One data set for the module, built once in a transaction that is rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


# --- discovering the pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str  # the URL name (or "<name>:legacy" for Django's unnamed redirect to the change page)
    url: str
    model_admin: admin.ModelAdmin | None = None
    kind: str = "custom"  # changelist, add, history, delete, change, legacy, custom, site
    obj: object = None
    kwargs: tuple = ()


def _superuser_request(world: World):
    request = RequestFactory().get("/admin/")
    request.user = world.users["superuser"]
    return request


def _arguments(name: str, model_admin: admin.ModelAdmin, objects: list) -> list:
    """The values the walk gives a URL argument: every object its admin shows, every object action
    (and one that does not exist), every user."""
    if name == "object_id":
        return objects
    if name == "name":
        return [*getattr(model_admin, "object_actions", {}), "no-such-action"]
    if name == "id" and model_admin.model is get_user_model():
        return objects
    if name == "pk":  # django-otp's device pages
        return objects
    if name == "field":  # a personal field to reveal (and one that does not exist)
        return [*KycProfile.PII_FIELDS, "no-such-field"]
    pytest.fail(f"the walk cannot fill <{name}> of {type(model_admin).__name__}: teach _arguments")


def _route(pattern: URLPattern) -> str:
    route = getattr(pattern.pattern, "_route", None)
    if route is None:
        pytest.fail(f"{pattern!r} is not a path(): teach the walk its arguments")
    return route


def _representatives(objects: list) -> list:
    """One object per combination of its choice fields' values (every kind in every state: a
    wallet per kind and status, a saga per kind and state); the first few of a model without any."""
    if not objects:
        return []
    fields = [f.attname for f in objects[0]._meta.concrete_fields if f.choices and f.name not in NOT_STATES]
    if not fields:
        return objects[:PLAIN_OBJECTS]
    chosen: dict[tuple, object] = {}
    for obj in objects:
        chosen.setdefault(tuple(getattr(obj, name) for name in fields), obj)
    return list(chosen.values())


def model_pages(world: World) -> list[Page]:
    request = _superuser_request(world)
    pages = []
    for model, model_admin in admin.site._registry.items():
        objects = _representatives(list(model_admin.get_queryset(request).order_by("pk")))
        assert objects, f"the data set has no {model._meta.label} its admin shows"
        base = reverse("admin:index") + f"{model._meta.app_label}/{model._meta.model_name}/"
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        for pattern in model_admin.get_urls():
            if isinstance(pattern, URLResolver):
                pytest.fail(f"{type(model_admin).__name__} includes {pattern!r}: teach the walk to descend")
            route = _route(pattern)
            names = re.findall(r"<(?:\w+:)?(\w+)>", route)
            name = pattern.name or f"{info}_change:legacy"
            kind = next((k for k in STANDARD_PAGES if name == f"{info}_{k}"), None)
            kind = kind or ("legacy" if name.endswith(":legacy") else "custom")
            if not names:
                pages.append(Page(name, base + route, model_admin, kind))
                continue
            # The change page and custom views for an object of every kind and state; Django's own
            # history, delete and redirect pages, alike for every object, for one.
            shown = objects if kind in ("change", "custom") else objects[:1]
            combos: list[dict] = [{}]
            for arg in names:
                combos = [{**c, arg: v} for c in combos for v in _arguments(arg, model_admin, shown)]
            for combo in combos:
                url = route
                for arg, value in combo.items():
                    text = str(value.pk) if hasattr(value, "pk") else str(value)
                    url = re.sub(rf"<(?:\w+:)?{arg}>", text, url)
                obj = next((v for v in combo.values() if hasattr(v, "pk")), None)
                kwargs = tuple((k, v) for k, v in combo.items() if not hasattr(v, "pk"))
                pages.append(Page(name, base + url, model_admin, kind, obj, kwargs))
    return pages


def site_pages(world: World) -> list[Page]:
    """The admin site's own views (index, app indexes, password change, …), each with its arguments."""
    request = _superuser_request(world)
    pages = []
    for pattern in admin.site.get_urls():
        if isinstance(pattern, URLResolver):  # a registered model's URLs, walked by model_pages
            assert str(pattern.pattern) in {f"{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry}
            continue
        if pattern.name is None:  # the final catch-all: any unknown URL
            pages.append(Page("catch_all", reverse("admin:index") + "no-such-page/", kind="site"))
            continue
        if pattern.name in NOT_WALKED:
            continue
        if pattern.name == "app_list":
            for label in dict.fromkeys(m._meta.app_label for m in admin.site._registry):
                pages.append(
                    Page(
                        "app_list", reverse("admin:app_list", args=[label]), kind="site", kwargs=(("app_label", label),)
                    )
                )
        elif pattern.name == "view_on_site":
            for model, model_admin in admin.site._registry.items():
                obj = model_admin.get_queryset(request).first()
                from django.contrib.contenttypes.models import ContentType

                ct = ContentType.objects.get_for_model(model, for_concrete_model=False)
                pages.append(
                    Page("view_on_site", reverse("admin:view_on_site", args=[ct.pk, obj.pk]), kind="site", obj=obj)
                )
        elif re.search(r"<|\(\?P", str(pattern.pattern)):
            pytest.fail(f"the admin site's {pattern.name} takes arguments the walk cannot fill: teach site_pages")
        else:
            pages.append(Page(pattern.name, reverse(f"admin:{pattern.name}"), kind="site"))
    return pages


def all_pages(world: World) -> list[Page]:
    return site_pages(world) + model_pages(world)


# --- what each role may see -----------------------------------------------------------------------


def _may(user, model, action: str) -> bool:
    return user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}")


def expected_status(page: Page, role: str, user) -> int | None:
    """The answer `role` must get; None for a custom page nobody described (it must answer 200,
    302 or 403, never fail)."""
    if role == "anonymous":
        return 200 if page.name == "login" else 302  # to the login page
    if page.kind == "site":
        if page.name == "app_list":
            return 200 if user.has_module_perms(dict(page.kwargs)["app_label"]) else 404
        return {
            "index": 200,
            "login": 302,  # already signed in: to the index
            "password_change": 200,
            "password_change_done": 200,
            "jsi18n": 200,
            "autocomplete": 403,  # without a field to complete
            "view_on_site": 404,  # no model here has a public page
            "catch_all": 404,
        }.get(page.name)
    model = page.model_admin.model
    if page.kind == "legacy" or page.name in REDIRECTS:
        return 302
    if page.kind in ("changelist", "change", "history"):
        return 200 if _may(user, model, "view") or _may(user, model, "change") else 403
    if page.kind in ("add", "delete"):
        writable = page.kind in WRITABLE.get(model._meta.label_lower, ())
        return 200 if writable and _may(user, model, page.kind) else 403
    if page.name.endswith("_object_action"):
        action = page.model_admin.object_actions.get(dict(page.kwargs)["name"])
        return 200 if action and user.has_perm(action[1]) else 403
    if page.name.endswith("_pii_reveal"):
        if not user.has_perm("compliance.view_pii"):
            return 403
        return 200 if dict(page.kwargs)["field"] in KycProfile.PII_FIELDS else 404
    if page.name == "compliance_dashboard":
        return 200 if user.has_perm("compliance.view_reviewcase") else 403
    if page.name == "auth_user_password_change":
        return 200 if _may(user, model, "change") else 403
    return None


def _get(client: Client, url: str, problems: list[str], label: str):
    try:
        return client.get(url)
    except Exception as exc:  # a page that fails: collect it with the others
        where = traceback.extract_tb(exc.__traceback__)[-1]
        problems.append(f"{label} {url} raised {exc!r} at {where.filename}:{where.lineno}")
        return None


def _changelist_variants(page: Page, response) -> list[str]:
    """The changelist's own filter links, a search by id and by text, a date drill-down."""
    cl = response.context["cl"]
    queries = [choice["query_string"] for spec in cl.filter_specs for choice in spec.choices(cl)]
    model_admin = page.model_admin
    if model_admin.search_fields:
        first = cl.result_list[0] if cl.result_list else None
        queries += ["?" + urlencode({"q": str(first.pk) if first else uuid.uuid4()}), "?q=not-an-id"]
    if model_admin.date_hierarchy and cl.result_list:
        field = model_admin.date_hierarchy
        day = getattr(cl.result_list[0], field)
        parts = ((f"{field}__year", day.year), (f"{field}__month", day.month), (f"{field}__day", day.day))
        queries += ["?" + urlencode(parts[:n]) for n in (1, 2, 3)]
    return sorted({q for q in queries if q not in ("", "?")})


def walk(world: World, role: str) -> tuple[list[str], int]:
    """Open every page as `role`; the problems found and the number of requests made."""
    user = world.users.get(role) or AnonymousUser()
    client = Client()
    if role != "anonymous":
        client.force_login(user)
    login = reverse("admin:login")
    problems: list[str] = []
    requests = 0
    for page in all_pages(world):
        label = f"[{role} {page.name}{' ' + str(dict(page.kwargs)) if page.kwargs else ''}]"
        response = _get(client, page.url, problems, label)
        requests += 1
        if response is None:
            continue
        status, want = response.status_code, expected_status(page, role, user)
        if (want is None and status not in (200, 302, 403)) or (want is not None and status != want):
            problems.append(f"{label} {page.url} answered {status}, expected {want or '200, 302 or 403'}")
            continue
        if role == "anonymous" and status == 302 and not response["Location"].startswith(login):
            problems.append(f"{label} {page.url} sent an anonymous visitor to {response['Location']}")
        if status != 200:
            continue
        model = page.model_admin.model if page.model_admin else None
        # masked for everyone by default: only a reveal (with a reason) shows one field, and the walk
        # reveals none
        shown = [value for value in PII if value in response.content.decode()]
        if shown:
            problems.append(f"{label} {page.url} shows personal data unmasked: {shown}")
        if page.kind == "change":
            editable = "change" in WRITABLE.get(model._meta.label_lower, ()) and _may(user, model, "change")
            if response.context["has_change_permission"] is not editable:
                problems.append(f"{label} {page.url} is {'not ' * editable}editable")
            for inline in response.context["inline_admin_formsets"]:
                if inline.has_add_permission or inline.has_change_permission or inline.has_delete_permission:
                    problems.append(f"{label} {page.url}: inline {inline.opts.model._meta.label} is writable")
        if page.kind == "changelist" and role == "superuser":  # who sees every list and filter
            for query in _changelist_variants(page, response):
                requests += 1
                found = _get(client, page.url + query, problems, label)
                if found is not None and found.status_code != 200:
                    problems.append(f"{label} {page.url}{query} answered {found.status_code}")
    return problems, requests


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_data_set_holds_every_kind_of_object_in_every_state(world):
    for model in admin.site._registry:
        concrete = model._meta.concrete_model
        assert concrete.objects.exists(), model._meta.label
        for field in concrete._meta.fields:  # every kind, every state
            if field.choices and field.name not in NOT_STATES:
                present = set(concrete.objects.values_list(field.name, flat=True))
                missing = set(_choices(concrete, field.name)) - present
                assert not missing, f"no {model._meta.label} with {field.name} in {sorted(missing)}"
    every = {(k, s) for k in _choices(Saga, "kind") for s in _choices(Saga, "state")}
    assert set(Saga.objects.values_list("kind", "state")) == every
    every = {(k, s) for k in _choices(Wallet, "kind") for s in _choices(Wallet, "status")}
    assert {(w.kind, w.status) for w in world.wallets.values()} == every
    assert {(p.kind, p.status) for p in KycProfile.objects.all()} >= {
        (k, s) for k in _choices(KycProfile, "kind") for s in _choices(KycProfile, "status")
    }
    for wallet in world.wallets.values():
        assert wallet.sagas.exists(), wallet
    # outcomes the services reached, not rows written by hand
    for model in (Payout, Hold, ReviewCase):
        assert set(model.objects.values_list("status", flat=True)) == set(_choices(model, "status")), model
    assert Group.objects.exists() and get_user_model().objects.filter(is_superuser=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_answers_as_the_role_demands(world, role):
    problems, requests = walk(world, role)
    assert requests > 100
    assert not problems, f"{len(problems)} of {requests} pages went wrong:\n" + "\n".join(problems)


@pytest.mark.django_db
def test_every_wallet_page_lists_its_sagas_whatever_their_state(world, client):
    client.force_login(world.users["officer"])
    for wallet in world.wallets.values():
        page = client.get(reverse("admin:wallets_wallet_change", args=[wallet.pk]))
        assert page.status_code == 200, wallet
        listed = page.content.decode().split('id="recent-sagas"')[1].split("</table>")[0]
        for saga in selectors.recent_sagas(wallet_id=wallet.pk):
            assert str(saga.pk) in listed and f">{saga.state}<" in listed
        # the officer is offered exactly the wallet's FSM transitions
        offered = {name for name, _ in page.context["object_actions"]}
        assert offered == {t.name for t in wallet.get_available_status_transitions()}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["officer", "support"])
def test_officers_see_every_pod_page_read_only(world, client, role):
    """The CrowdPod page (members, goal progress, pledges, pending approvals, contributions) opens
    for officers and support, every pod in every state, and nothing on it can be changed."""
    from wallets.pods.models import Pod

    user = world.users[role]
    client.force_login(user)
    assert client.get(reverse("admin:pods_pod_changelist")).status_code == 200
    pods = list(Pod.objects.order_by("pk"))
    assert {p.status for p in pods} == set(_choices(Pod, "status"))
    for pod in pods:
        page = client.get(reverse("admin:pods_pod_change", args=[pod.pk]))
        assert page.status_code == 200, pod
        assert page.context["has_change_permission"] is False
        shown = {f.opts.model._meta.model_name for f in page.context["inline_admin_formsets"]}
        assert shown == {"podmember", "podgoal", "pledge", "podoutflow"}
        for inline in page.context["inline_admin_formsets"]:
            assert not (inline.has_add_permission or inline.has_change_permission or inline.has_delete_permission)
        assert client.get(reverse("admin:pods_pod_delete", args=[pod.pk])).status_code == 403
    assert client.get(reverse("admin:pods_pod_add")).status_code == 403


@pytest.mark.django_db
def test_support_sees_personal_data_masked_and_reaches_no_officer_page(world, client):
    support, case = world.users["support"], world.open_case
    client.force_login(support)
    kyc = client.get(reverse("admin:compliance_kycprofile_change", args=[world.pending_profile.pk]))
    html = kyc.content.decode()
    assert kyc.status_code == 200 and "A••••••••••e" in html
    assert not [value for value in PII if value in html]
    assert kyc.context["object_actions"] == []
    assert not AuditEntry.objects.filter(actor=support).exists()
    wallet = world.wallets[Wallet.Kind.USER, Wallet.Status.ACTIVE]
    page = client.get(reverse("admin:wallets_wallet_change", args=[wallet.pk]))
    assert page.status_code == 200 and page.context["object_actions"] == []
    assert reverse("admin:compliance_dashboard") not in client.get(reverse("admin:index")).content.decode()
    for url in (
        reverse("admin:compliance_dashboard"),
        reverse("admin:compliance_reviewcase_changelist"),
        reverse("admin:compliance_reviewcase_change", args=[case.pk]),
        reverse("admin:compliance_reviewcase_object_action", args=[case.pk, "approve"]),
        reverse("admin:compliance_kycprofile_object_action", args=[world.pending_profile.pk, "verify"]),
        reverse("admin:compliance_frozenwallet_changelist"),
        reverse("admin:wallets_wallet_object_action", args=[wallet.pk, "freeze"]),
        reverse("admin:compliance_auditentry_changelist"),
        reverse("admin:compliance_riskassessment_changelist"),
        reverse("admin:compliance_walletlimit_add"),
        reverse("admin:auth_user_changelist"),
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
def test_officers_reveal_personal_data_with_a_reason_and_add_or_delete_no_money(world, client):
    officer = world.users["officer"]
    client.force_login(officer)
    profile = world.pending_profile
    url = reverse("admin:compliance_kycprofile_change", args=[profile.pk])
    kyc = client.get(url)
    assert not [value for value in PII if value in kyc.content.decode()]  # masked by default
    reveal = reverse("admin:compliance_kycprofile_pii_reveal", args=[profile.pk, "legal_name"])
    client.post(reveal, {"reason": "sanctions list near-match to rule out"})
    shown = client.get(url).content.decode()
    assert "Ada Lovelace" in shown and "X1234567" not in shown  # that field only
    entry = AuditEntry.objects.get(action="pii_reveal", actor=officer, object_id=str(profile.pk))
    assert entry.data["field"] == "legal_name"
    kyc = client.get(url)
    assert {name for name, _ in kyc.context["object_actions"]} == {"verify", "reject"}
    assert client.get(reverse("admin:compliance_dashboard")).status_code == 200
    # money and history: no add, no delete, no change, whoever asks; balances, postings and saga
    # steps have no page of their own, only read-only tables on their wallet, journal entry or saga
    for model in (Wallet, Event, Hold, JournalEntry, Saga, AuditEntry, RiskAssessment, ReviewCase, KycProfile):
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model.objects.order_by("pk").first()
        assert client.get(reverse(f"{info}_add")).status_code == 403, model
        assert client.get(reverse(f"{info}_delete", args=[obj.pk])).status_code == 403, model
        change = client.get(reverse(f"{info}_change", args=[obj.pk]))
        assert change.status_code == 403 or change.context["has_change_permission"] is False, model
    for model in (Balance, Posting, SagaStep):
        assert not admin.site.is_registered(model)
    wallet = client.get(reverse("admin:wallets_wallet_change", args=[world.wallets[Wallet.Kind.USER, "ACTIVE"].pk]))
    balances = [f for f in wallet.context["inline_admin_formsets"] if f.opts.model is Balance]
    assert balances and not (balances[0].has_add_permission or balances[0].has_delete_permission)
    assert not balances[0].has_change_permission
