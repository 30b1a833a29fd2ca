"""The officers' back-office v2, deciding (issue 21): money as people read it, a case page that is
enough to decide, search through the blind index, officers seeing sagas read-only, the dashboard."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance import blind_index, dashboard, search, services
from compliance.models import AuditEntry, KycProfile, PiiSearchToken, ReviewCase, RiskAssessment
from compliance.tests.factories import officer_user, profile, saga_row, support_user
from sagas.models import Saga
from wallets import services as ledger
from wallets.currencies import format_money
from wallets.models import Wallet
from wallets.templatetags.money import data_money, money
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db

LONG_ENOUGH = "the customer sent a payslip and a bank statement"


# --- money as people read it ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (123456, "USD", "1,234.56 USD"),
        (5, "USD", "0.05 USD"),
        (0, "EUR", "0.00 EUR"),
        (100000, "JPY", "100,000 JPY"),
        (1000, "JPY", "1,000 JPY"),
        (1234567, "KWD", "1,234.567 KWD"),
        (1, "KWD", "0.001 KWD"),
        (-123456, "USD", "-1,234.56 USD"),
        (-5, "USD", "-0.05 USD"),
        (-1000, "JPY", "-1,000 JPY"),
        (10**18, "USD", "10,000,000,000,000,000.00 USD"),
    ],
)
def test_format_money_shows_major_units_with_the_currencys_decimals(minor, currency, shown):
    assert format_money(minor, currency) == shown


def test_format_money_refuses_floats_and_shows_unknown_codes_as_minor_units():
    with pytest.raises(TypeError):
        format_money(12.5, "USD")  # type: ignore[arg-type]
    assert format_money(100, "XAU") == "100 XAU (minor units)"
    assert format_money(None, "USD") == ""
    assert money(123456, "USD") == "1,234.56 USD" and money(None, "USD") == "" and money("n/a", "USD") == "n/a"
    assert data_money({"amount": 250, "currency": "JPY"}) == "250 JPY"
    assert data_money({"reason": "no amount here"}) == "" and data_money(None) == ""


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def deciding(db):
    """A transfer of 1,234.56 USD in review: Ada's wallet pays Grace's, with a risk assessment, a
    month of history (a credit, a transfer to Grace) and an earlier, approved case of Ada's."""
    ada, grace = uuid.uuid4(), uuid.uuid4()
    profile(ada, legal_name="Ada Lovelace", email="Ada@Example.org")
    profile(grace, legal_name="Grace Hopper", email="grace@example.org")
    source = funded(amount=5000_00, owner_id=ada)
    destination = funded(amount=10_00, owner_id=grace)
    ledger.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=source.id, to_wallet_id=destination.id, amount=300_00, currency="USD"
    )
    saga = saga_row(kind=Saga.Kind.TRANSFER, state=Saga.State.IN_REVIEW, wallet=source, counterparty=destination)
    Saga.objects.filter(pk=saga.pk).update(amount=1234_56, source_reference="ch_test_ref_42")
    RiskAssessment.objects.create(
        operation="transfer",
        wallet_id=source.id,
        owner_id=ada,
        counterparty_wallet_id=destination.id,
        saga_id=saga.id,
        amount=1234_56,
        currency="USD",
        outcome=RiskAssessment.Outcome.REVIEW,
        code="new_counterparty",
        score=72,
        source="rules",
        reasons=["first payment to this counterparty", "amount above the 30-day average"],
    )
    case = services.review_case_open(saga_id=saga.id, wallet_id=source.id, code="new_counterparty", reasons=("x",))
    earlier_saga = saga_row(
        kind=Saga.Kind.TRANSFER, state=Saga.State.IN_REVIEW, wallet=source, counterparty=destination
    )
    earlier = services.review_case_open(saga_id=earlier_saga.id, wallet_id=source.id, code="velocity", reasons=())
    services.review_case_approve(
        case_id=earlier.pk, officer=officer_user("earlier"), reason=LONG_ENOUGH, reason_code="customer_confirmed"
    )
    return {"case": case, "saga": Saga.objects.get(pk=saga.pk), "source": source, "destination": destination}


# --- the case page --------------------------------------------------------------------------------


def test_the_case_page_shows_everything_needed_to_decide(officer_client, deciding):
    case, source, destination = deciding["case"], deciding["source"], deciding["destination"]
    page = officer_client.get(reverse("admin:compliance_reviewcase_change", args=[case.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    section = html.split('id="case-summary"')[1]
    assert "1,234.56 USD" in section.split('id="case-amount"')[1][:200]
    assert str(deciding["saga"].pk) in section and "IN_REVIEW" in section
    assert reverse("admin:sagas_saga_change", args=[deciding["saga"].pk]) in section
    # source and destination wallets with their owners, linked
    ada = KycProfile.objects.get(owner_id=source.owner_id)
    grace = KycProfile.objects.get(owner_id=destination.owner_id)
    for wallet, owner in ((source, ada), (destination, grace)):
        assert reverse("admin:wallets_wallet_change", args=[wallet.pk]) in section
        assert reverse("admin:compliance_kycprofile_change", args=[owner.pk]) in section
    # the risk score and its reasons
    risk = section.split('id="case-risk"')[1].split("</table>")[0]
    assert "72" in risk and "first payment to this counterparty" in risk and "new_counterparty" in risk
    # the last 30 days: 5,000.00 in, 300.00 out, Grace's wallet a counterparty
    window = section.split('id="case-window"')[1].split('id="case-earlier"')[0]
    assert "5,000.00 USD" in window and "300.00 USD" in window
    assert f"wallet:{destination.pk}" in window and "funding:USD" in window
    # the owner's KYC status and their earlier case
    assert "VERIFIED" in section.split('id="case-kyc"')[1][:400]
    earlier = section.split('id="case-earlier"')[1].split("</table>")[0]
    assert "velocity" in earlier and "customer_confirmed" in earlier
    # the decision form: a reason code from the list, the two decisions
    decision = section.split('id="case-decision"')[1]
    assert (
        'value="suspected_fraud"' in decision and 'id="decide-approve"' in decision and 'id="decide-reject"' in decision
    )
    assert "Ada Lovelace" not in html  # the page names owners by id, never by their (encrypted) name


def test_the_case_page_reads_a_bounded_number_of_queries(officer_client, deciding, django_assert_max_num_queries):
    url = reverse("admin:compliance_reviewcase_change", args=[deciding["case"].pk])
    officer_client.get(url)  # warm caches (content types, permissions)
    with django_assert_max_num_queries(30):  # as test_admin_queries allows any change page
        assert officer_client.get(url).status_code == 200


def test_a_decision_takes_a_reason_code_and_enough_words(officer_client, deciding, settings):
    settings.REVIEW_REASON_MIN_LENGTH = 25
    case = deciding["case"]
    url = reverse("admin:compliance_reviewcase_object_action", args=[case.pk, "reject"])
    too_short = officer_client.post(url, {"reason_code": "suspected_fraud", "reason": "mule pattern seen"})
    assert too_short.status_code == 200 and "reason" in too_short.context["form"].errors
    no_code = officer_client.post(url, {"reason": LONG_ENOUGH})
    assert no_code.status_code == 200 and "reason_code" in no_code.context["form"].errors
    not_a_code = officer_client.post(url, {"reason_code": "because", "reason": LONG_ENOUGH})
    assert "reason_code" in not_a_code.context["form"].errors
    assert ReviewCase.objects.get(pk=case.pk).status == ReviewCase.Status.OPEN
    done = officer_client.post(url, {"reason_code": "suspected_fraud", "reason": LONG_ENOUGH})
    assert done.status_code == 302
    decided = ReviewCase.objects.get(pk=case.pk)
    assert (decided.status, decided.decision_code, decided.decision_reason) == (
        ReviewCase.Status.REJECTED,
        "suspected_fraud",
        LONG_ENOUGH,
    )
    entry = AuditEntry.objects.get(action="review_reject", object_id=str(case.pk))
    assert entry.data["reason_code"] == "suspected_fraud"


def test_the_service_refuses_a_reason_code_not_in_the_list(deciding, officer):
    from compliance.errors import ComplianceError

    with pytest.raises(ComplianceError) as refused:
        services.review_case_reject(case_id=deciding["case"].pk, officer=officer, reason=LONG_ENOUGH, reason_code="x")
    assert refused.value.code == "invalid_reason_code"


# --- search ---------------------------------------------------------------------------------------


def _found(client, name: str, q: str) -> list:
    page = client.get(reverse(f"admin:{name}_changelist"), {"q": q})
    assert page.status_code == 200, (name, q)
    return list(page.context["cl"].result_list)


def test_search_by_name_email_prefix_saga_id_and_reference(officer_client, deciding):
    case, saga, source = deciding["case"], deciding["saga"], deciding["source"]
    other = services.review_case_open(
        saga_id=saga_row(kind=Saga.Kind.FUNDING, state=Saga.State.IN_REVIEW, wallet=deciding["destination"]).id,
        wallet_id=deciding["destination"].id,
        code="x",
        reasons=(),
    )
    cases = "compliance_reviewcase"
    open_cases = {case.pk, other.pk}
    by = {
        "ada": "name word",
        "lovelace ada": "words in any order",
        "  ADA   Lovelace ": "case and spaces",
        "ada@example.ORG": "email",
        str(source.pk)[:8]: "wallet id prefix",
        str(source.pk)[:13]: "a longer prefix with a dash",
        str(saga.pk): "saga id",
        "ch_test_ref_42": "charge reference",
        str(source.owner_id): "owner id",
    }
    for q, why in by.items():
        found = {c.pk for c in _found(officer_client, cases, q)} & open_cases
        assert found == {case.pk}, why
    assert {c.pk for c in _found(officer_client, cases, "grace")} & open_cases == {other.pk}
    for q in ("ada hopper", "nobody", "zz@example.org", "ffffffff"):
        assert {c.pk for c in _found(officer_client, cases, q)} & open_cases == set(), q
    # the same box on the other lists
    assert [w.pk for w in _found(officer_client, "wallets_wallet", "ada")] == [source.pk]
    assert [w.pk for w in _found(officer_client, "wallets_wallet", str(source.pk)[:8])] == [source.pk]
    assert [p.owner_id for p in _found(officer_client, "compliance_kycprofile", "grace@example.org")] == [
        deciding["destination"].owner_id
    ]
    assert saga.pk in {s.pk for s in _found(officer_client, "sagas_saga", "ch_test_ref_42")}
    assert saga.pk in {s.pk for s in _found(officer_client, "sagas_saga", str(source.pk)[:8])}
    events = _found(officer_client, "wallets_event", str(source.pk)[:8])
    assert events and {e.wallet_id for e in events} == {source.pk}
    assert [e.version for e in events] == sorted((e.version for e in events), reverse=True)  # by sequence


def test_a_prefix_search_is_a_range_on_the_uuid_never_a_text_scan(officer, rf):
    term = search.classify("abcd1234")
    assert term.prefix == (
        uuid.UUID("abcd1234-0000-0000-0000-000000000000"),
        uuid.UUID("abcd1234-ffff-ffff-ffff-ffffffffffff"),
    )
    query = search.search_q(term, search.Fields(pk="id", wallet=("id",), owner="owner_id"), pii=True)
    sql = str(Wallet.objects.filter(query).query).upper()
    assert "UPPER" not in sql and "::TEXT" not in sql and "LIKE" not in sql
    assert search.classify("abc").prefix is None  # too short to be a useful prefix
    assert search.classify(str(uuid.uuid4())).exact is not None
    assert search.classify("a@b.c").email and search.classify("Ada Lovelace").name
    assert search.classify("ch_test_ok_1").reference and not search.classify("ch_test_ok_1").name


def test_the_blind_index_never_stores_plaintext(deciding):
    ada = KycProfile.objects.get(owner_id=deciding["source"].owner_id)
    tokens = list(PiiSearchToken.objects.filter(profile=ada))
    assert {t.kind for t in tokens} == {"name", "name_word", "email"} and len(tokens) == 4
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, kind, key_id FROM compliance_piisearchtoken")
        stored = " ".join(" ".join(row) for row in cursor.fetchall()).casefold()
        cursor.execute("SELECT legal_name, email FROM compliance_kycprofile WHERE id = %s", [ada.pk])
        name, email = cursor.fetchone()
    for plain in ("ada", "lovelace", "example.org"):
        assert plain not in stored
    assert name.startswith("pii1:") and email.startswith("pii1:")  # still encrypted at rest
    assert all(len(t.digest) == 64 for t in tokens)
    # a change of name rewrites the tokens; a status change leaves them
    ada.legal_name = "Augusta Ada King"
    ada.save()
    assert blind_index.owner_ids_matching("augusta king").count() == 1
    assert blind_index.owner_ids_matching("lovelace").count() == 0


def test_support_cannot_search_by_name(client, deciding):
    client.force_login(support_user("sasha"))
    assert _found(client, "wallets_wallet", "ada lovelace") == []
    assert [w.pk for w in _found(client, "wallets_wallet", str(deciding["source"].pk))] == [deciding["source"].pk]


# --- sagas, read-only for officers ----------------------------------------------------------------


def test_officers_open_sagas_and_payouts_but_change_nothing(officer_client, deciding):
    saga = deciding["saga"]
    page = officer_client.get(reverse("admin:sagas_saga_change", args=[saga.pk]))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    html = page.content.decode()
    assert "1,234.56 USD" in html and reverse("admin:compliance_reviewcase_change", args=[deciding["case"].pk]) in html
    assert officer_client.get(reverse("admin:sagas_saga_changelist")).status_code == 200
    assert officer_client.get(reverse("admin:sagas_payout_changelist")).status_code == 200
    assert officer_client.post(reverse("admin:sagas_saga_change", args=[saga.pk]), {}).status_code == 403
    assert officer_client.get(reverse("admin:sagas_saga_delete", args=[saga.pk])).status_code == 403
    assert officer_client.get(reverse("admin:sagas_fxrate_add")).status_code == 403


# --- links, frozen wallets ------------------------------------------------------------------------


def test_the_wallet_page_links_owner_events_sagas_and_cases(officer_client, deciding):
    source = deciding["source"]
    html = officer_client.get(reverse("admin:wallets_wallet_change", args=[source.pk])).content.decode()
    links = html.split('id="wallet-links"')[1].split("</table>")[0]
    ada = KycProfile.objects.get(owner_id=source.owner_id)
    assert reverse("admin:compliance_kycprofile_change", args=[ada.pk]) in links
    for name, param in (("wallets_event", "wallet__id__exact"), ("sagas_saga", "wallet__id__exact")):
        url = f"{reverse(f'admin:{name}_changelist')}?{param}={source.pk}"
        assert url in links
        assert officer_client.get(url).status_code == 200
    cases = f"{reverse('admin:compliance_reviewcase_changelist')}?wallet_id__exact={source.pk}"
    assert cases in links and len(officer_client.get(cases).context["cl"].result_list) == 2
    profile_page = officer_client.get(reverse("admin:compliance_kycprofile_change", args=[ada.pk])).content.decode()
    assert reverse("admin:wallets_wallet_change", args=[source.pk]) in profile_page


def test_frozen_wallets_most_recent_freeze_first_with_who_and_why(officer_client, officer):
    first, second = WalletFactory(), WalletFactory()
    for wallet, why in ((first, "chargebacks on three cards"), (second, "customer reported a theft")):
        services.wallet_freeze_by_officer(wallet_id=wallet.id, officer=officer, reason=why, reason_code="other")
    cl = officer_client.get(reverse("admin:compliance_frozenwallet_changelist")).context["cl"]
    rows = list(cl.result_list)
    assert [w.pk for w in rows] == [second.pk, first.pk]
    assert rows[0].frozen_why == "customer reported a theft" and rows[0].frozen_actor == f"officer:{officer.username}"


# --- the dashboard --------------------------------------------------------------------------------


def test_dashboard_tiles_count_and_link_to_their_lists(officer_client, officer, settings):
    settings.REVIEW_SLA_HOURS = 24
    wallet = funded(amount=100_00)
    now = timezone.now()
    cases = []
    for hours in (0, 5, 30, 100):
        saga = saga_row(kind=Saga.Kind.FUNDING, state=Saga.State.IN_REVIEW, wallet=wallet)
        case = services.review_case_open(saga_id=saga.id, wallet_id=wallet.id, code="x", reasons=())
        ReviewCase.objects.filter(pk=case.pk).update(opened_at=now - timedelta(hours=hours, minutes=1))
        cases.append(case)
    for code in ("fraud", "customer_request", "fraud"):
        services.wallet_freeze_by_officer(
            wallet_id=WalletFactory().id, officer=officer, reason=f"frozen for {code}", reason_code=code
        )
    ledger.wallet_freeze(wallet_id=WalletFactory().id, actor="test", reason="no audit entry")
    page = officer_client.get(reverse("admin:compliance_dashboard"))
    board = page.context["board"]
    counts = dashboard.tile_counts(board)
    assert counts["open"] == 4 and counts["sla"] == 2 and counts["frozen"] == 4
    assert [bucket["count"] for bucket in board["open_ages"]] == [1, 1, 1, 1]
    html = page.content.decode()
    for tile in board["tiles"]:  # each tile a link to the list it counts
        assert f'id="card-{tile["id"]}"' in html
        listed = officer_client.get(tile["url"])
        assert listed.status_code == 200, tile
        if tile["id"] in ("open", "sla", "frozen", "declines"):
            assert listed.context["cl"].result_count == tile["count"], tile
    for bucket in board["open_ages"]:
        assert officer_client.get(bucket["url"]).context["cl"].result_count == bucket["count"]
    by_reason = {row["reason"]: row["count"] for row in board["frozen_by_reason"]}
    assert by_reason == {"fraud": 2, "customer_request": 1, dashboard.UNKNOWN_REASON: 1}
    for row in board["frozen_by_reason"]:
        assert officer_client.get(row["url"]).context["cl"].result_count == row["count"], row


def test_the_migration_fills_the_blind_index_of_existing_profiles(deciding):
    """Profiles written before the index existed (or by a bulk insert) get their tokens from the
    migration's fill, the same tokens a save writes."""
    import importlib

    from django.apps import apps

    fill = importlib.import_module("compliance.migrations.0006_admin_v2_deciding").tokens_fill
    before = set(PiiSearchToken.objects.values_list("profile_id", "kind", "digest"))
    PiiSearchToken.objects.all().delete()
    assert blind_index.owner_ids_matching("ada").count() == 0
    fill(apps, None)
    assert set(PiiSearchToken.objects.values_list("profile_id", "kind", "digest")) == before
    assert list(blind_index.owner_ids_matching("ada")) == [deciding["source"].owner_id]


def test_the_decision_page_of_its_own_asks_for_the_code_too(officer_client, deciding):
    url = reverse("admin:compliance_reviewcase_object_action", args=[deciding["case"].pk, "approve"])
    html = officer_client.get(url).content.decode()
    assert 'name="reason_code"' in html and 'value="verified_source_of_funds"' in html and 'name="reason"' in html


def _plans(client, url: str, table: str) -> list[tuple[str, str]]:
    """EXPLAIN each SELECT of the page on `table`, sequential scans disabled (the test tables are
    tiny: the planner would scan them whatever the indexes)."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            sql = query["sql"]
            if f'"{table}"' in sql and sql.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN " + sql)
                plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plans


@pytest.mark.parametrize(
    ("page", "table"),
    [
        ("wallets_event", "wallets_event"),
        ("sagas_saga", "sagas_saga"),
        ("compliance_reviewcase", "compliance_reviewcase"),
    ],
)
def test_every_kind_of_search_reads_through_indexes(officer_client, deciding, page, table):
    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    source = deciding["source"]
    base = reverse(f"admin:{page}_changelist")
    terms = [
        str(source.pk),
        str(source.pk)[:8],
        "ada lovelace",
        "ada@example.org",
        str(source.owner_id),
        "ch_test_ref_42",
    ]
    checked = 0
    for term in terms:
        for sql, plan in _plans(officer_client, f"{base}?q={term}", table):
            checked += 1
            assert f"Seq Scan on {table}" not in plan, f"{term!r} scans {table}:\n{sql}\n{plan}"
            assert "upper(" not in sql.lower() and "::text" not in sql.lower(), sql
    assert checked >= len(terms)


def test_one_search_box_finds_owners_wallets_cases_and_sagas(officer_client, client, deciding):
    url = reverse("admin:compliance_find")
    source, case, saga = deciding["source"], deciding["case"], deciding["saga"]
    page = officer_client.get(url, {"q": "Ada"})
    found = page.context["found"]
    assert [p.owner_id for p in found["profiles"]] == [source.owner_id]
    assert [w.pk for w in found["wallets"]] == [source.pk]
    assert case.pk in {c.pk for c in found["cases"]} and saga.pk in {s.pk for s in found["sagas"]}
    by_reference = officer_client.get(url, {"q": "ch_test_ref_42"}).context["found"]
    assert [s.pk for s in by_reference["sagas"]] == [saga.pk] and [c.pk for c in by_reference["cases"]] == [case.pk]
    assert (
        reverse("admin:compliance_find") in officer_client.get(reverse("admin:compliance_dashboard")).content.decode()
    )
    client.force_login(support_user("sasha"))
    assert client.get(url, {"q": "Ada"}).status_code == 403
