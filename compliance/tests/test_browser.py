"""An officer's day in a real headless browser (Debian's chromium driven by Selenium) against a live
server: the dashboard, the oldest open case approved with a reason code and a reason, a wallet
frozen for fraud whose unfreeze waits for a second officer (who approves it, signed in in a
browser of their own), a pending KYC profile verified, and one personal field revealed with a
reason.

Screenshots of every step go to `test-artifacts/officer-day/` at the project root (git-ignored; the
path is printed): CI runs in the clone, so the folder is there after the run to keep or upload.
Nothing is downloaded at run time: the browser is the system's (CI installs it:
`apt-get install -y chromium chromium-driver`), and Selenium Manager is told to stay offline."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from compliance.models import AuditEntry, DecisionRequest, KycProfile, ReviewCase
from compliance.tests.factories import officer_user, profile
from sagas import services as sagas
from sagas.models import Saga
from wallets.models import Wallet
from wallets.tests.factories import funded

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "officer-day"
PASSWORD = "pw-officer-123"  # factories.officer_user's

pytestmark = pytest.mark.slow


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.implicitly_wait(5)
    return driver


@pytest.fixture
def browsers():
    """Start browsers on demand (one per officer: two sessions side by side); all quit at the end."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch anything
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    started = []

    def start():
        started.append(_driver())
        return started[-1]

    yield start
    for driver in started:
        driver.quit()
    print(f"\nofficer's day screenshots: {ARTIFACTS}")


class Walk:
    """One officer's browser, with a numbered screenshot per step."""

    shots = 0

    def __init__(self, driver, base: str, username: str):
        self.driver, self.base, self.username = driver, base, username

    def shot(self, name: str) -> None:
        Walk.shots += 1
        self.driver.save_screenshot(str(ARTIFACTS / f"{Walk.shots:02d}-{self.username}-{name}.png"))

    def by(self, how: str, what: str):
        return self.driver.find_element(how, what)

    def sign_in(self) -> None:
        from selenium.webdriver.common.by import By

        self.driver.get(f"{self.base}/admin/login/?next=/admin/")
        self.by(By.NAME, "username").send_keys(self.username)
        self.by(By.NAME, "password").send_keys(PASSWORD)
        self.by(By.CSS_SELECTOR, "input[type=submit]").click()
        assert self.by(By.ID, "user-tools").text.upper().count(self.username.upper()) == 1

    def open(self, path: str) -> None:
        self.driver.get(f"{self.base}{path}")

    def reason(self, text: str, *, code: str | None = None, button: str = "") -> None:
        """Fill a reason form (a reason code first when it has one) and submit it: the reason
        page's confirm button, or the button of that id (the case page's own form)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        if code is not None:
            Select(self.by(By.NAME, "reason_code")).select_by_value(code)
        self.by(By.NAME, "reason").send_keys(text)
        (self.by(By.ID, button) if button else self.by(By.NAME, "confirm")).click()

    def messages(self) -> str:
        from selenium.webdriver.common.by import By

        return self.by(By.CSS_SELECTOR, "ul.messagelist").text


def _day(live_server_url: str) -> dict:
    """The morning's queue: two open review cases (the older one opened yesterday), a wallet the
    officer will freeze for fraud, a pending KYC profile."""
    olivia, oscar = officer_user("olivia"), officer_user("oscar")
    cases = []
    for reference, amount in (("op-browser-older", 2500_00), ("op-browser-newer", 2600_00)):
        wallet = funded(amount=1000_00)
        profile(wallet.owner_id)
        saga = sagas.funding_start(
            wallet_id=wallet.id,
            amount=amount,
            currency="EUR",
            source="CARD",
            source_reference=f"ch_test_ok_{reference}",
            reference=reference,
            requested_by="user:1",
        )
        assert sagas.saga_advance(saga_id=saga.id).state == Saga.State.IN_REVIEW
        cases.append(ReviewCase.objects.get(saga_id=saga.id))
    ReviewCase.objects.filter(pk=cases[0].pk).update(opened_at=timezone.now() - timedelta(days=1))
    suspect = funded(amount=300_00)
    pending = profile(funded(amount=10_00).owner_id, status=KycProfile.Status.PENDING, legal_name="Grace Hopper")
    return {"olivia": olivia, "oscar": oscar, "oldest": cases[0], "newer": cases[1], "suspect": suspect, "kyc": pending}


def test_an_officers_day_in_a_browser(committed_db, live_server, browsers):
    from selenium.webdriver.common.by import By

    day = _day(live_server.url)
    olivia = Walk(browsers(), live_server.url, "olivia")
    olivia.sign_in()

    # 1. The dashboard: two open cases; the oldest first in its table, opened from there.
    olivia.by(By.LINK_TEXT, "Compliance dashboard").click()
    assert olivia.by(By.CSS_SELECTOR, "#card-open .n").text == "2"
    olivia.shot("dashboard")
    oldest = day["oldest"]
    # the "oldest open cases" table of the open-cases tile (its first table counts them by age)
    rows = olivia.driver.find_elements(By.CSS_SELECTOR, "#open-cases table:nth-of-type(2) tbody tr a")
    assert [a.text for a in rows][:2] == [str(oldest.pk)[:8], str(day["newer"].pk)[:8]]
    rows[0].click()

    # 2. The case page shows what to decide on; approve it with a reason code and a reason.
    assert "2,500.00" in olivia.by(By.ID, "case-amount").text
    olivia.shot("case")
    olivia.reason(
        "called the customer: salary paid in from a new employer in Europe",
        code="verified_source_of_funds",
        button="decide-approve",
    )
    assert "Approve: 1 done." in olivia.messages()
    olivia.shot("case-approved")
    oldest.refresh_from_db()
    assert oldest.status == ReviewCase.Status.APPROVED and oldest.decided_by == day["olivia"]
    assert oldest.decision_code == "verified_source_of_funds"
    assert Saga.objects.get(pk=oldest.saga_id).state != Saga.State.IN_REVIEW

    # 3. A fraud freeze, from the wallet's page.
    suspect = day["suspect"]
    olivia.open(f"/admin/wallets/wallet/{suspect.pk}/change/")
    olivia.by(By.ID, "do-freeze").click()
    olivia.reason("card testing: 40 declined fundings in 10 minutes", code="fraud")
    assert "Freeze: 1 done." in olivia.messages()
    assert Wallet.objects.get(pk=suspect.pk).status == Wallet.Status.FROZEN
    olivia.shot("frozen-for-fraud")

    # 4. Unfreezing a fraud freeze only files a request: the requester cannot approve it.
    olivia.by(By.ID, "do-unfreeze").click()
    olivia.reason("the customer proved the cards are theirs, by video call")
    assert "needs a second officer" in olivia.messages()
    assert Wallet.objects.get(pk=suspect.pk).status == Wallet.Status.FROZEN
    request = DecisionRequest.objects.get(target_id=str(suspect.pk), status=DecisionRequest.Status.PENDING)
    olivia.shot("unfreeze-requested")
    olivia.open(f"/admin/compliance/decisionrequest/{request.pk}/change/")
    assert not olivia.driver.find_elements(By.ID, "do-approve")  # only "reject" (withdraw) for the requester

    # 5. A second officer, in a browser of their own, approves it: the wallet is active again.
    oscar = Walk(browsers(), live_server.url, "oscar")
    oscar.sign_in()
    oscar.open("/admin/compliance/decisionrequest/")
    oscar.by(By.LINK_TEXT, str(request.pk)[:8]).click()
    oscar.shot("request")
    oscar.by(By.ID, "do-approve").click()
    oscar.reason("checked the video call notes and the card issuer's answer")
    assert "Approve: 1 done." in oscar.messages()
    oscar.shot("unfreeze-approved")
    request.refresh_from_db()
    assert request.status == DecisionRequest.Status.APPROVED and request.decided_by == day["oscar"]
    assert Wallet.objects.get(pk=suspect.pk).status == Wallet.Status.ACTIVE

    # 6. A pending KYC profile, verified from its page.
    kyc = day["kyc"]
    olivia.open(f"/admin/compliance/kycprofile/{kyc.pk}/change/")
    assert "Grace Hopper" not in olivia.driver.page_source  # masked by default
    olivia.shot("kyc-pending")
    olivia.by(By.ID, "do-verify").click()
    olivia.reason("passport checked against the issuing register")
    assert "Verify: 1 done." in olivia.messages()
    kyc.refresh_from_db()
    assert kyc.status == KycProfile.Status.VERIFIED and kyc.decided_by == day["olivia"]
    olivia.shot("kyc-verified")

    # 7. One personal field revealed with a reason: shown to this officer, audited.
    olivia.by(By.ID, "reveal-legal_name").click()
    olivia.reason("matching the name on the incoming bank transfer")
    assert "Grace Hopper" in olivia.driver.page_source
    assert "Grace Hopper" not in olivia.by(By.ID, "user-tools").text
    olivia.shot("pii-revealed")
    assert AuditEntry.objects.filter(actor=day["olivia"], object_id=str(kyc.pk), action__contains="reveal").exists()

    shots = sorted(ARTIFACTS.glob("*.png"))
    assert len(shots) == Walk.shots >= 10 and all(p.stat().st_size > 10_000 for p in shots)
