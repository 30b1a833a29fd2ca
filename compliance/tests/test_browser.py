"""The dashboard and the review flow in a real headless browser (Debian's chromium driven by
Selenium) against a live server. Screenshots go to test-artifacts/ (git-ignored).

CI must install the browser: `apt-get install -y chromium chromium-driver`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from compliance import screening
from compliance.models import ReviewCase
from compliance.tests.factories import officer_user, profile
from sagas import services as sagas
from sagas.models import Saga
from wallets import services as ledger
from wallets.tests.factories import WalletFactory, funded

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

pytestmark = pytest.mark.slow


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def test_dashboard_and_review_flow_in_a_browser(committed_db, live_server, browser):
    from selenium.webdriver.common.by import By

    officer = officer_user("olivia")  # password pw-officer-123
    wallet = funded(amount=1000_00)
    profile(wallet.owner_id)
    saga = sagas.funding_start(
        wallet_id=wallet.id,
        amount=2500_00,
        currency="EUR",
        source="CARD",
        source_reference="ch_test_ok_browser",
        reference="op-browser",
        requested_by="user:1",
    )
    assert sagas.saga_advance(saga_id=saga.id).state == Saga.State.IN_REVIEW
    case = ReviewCase.objects.get(saga_id=saga.id)
    frozen = WalletFactory()
    ledger.wallet_freeze(wallet_id=frozen.id, actor="officer:olivia", reason="chargeback spike")
    screening.screen(operation="withdraw", wallet_id=WalletFactory().id, amount=1, currency="USD")

    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("olivia")
    browser.find_element(By.NAME, "password").send_keys("pw-officer-123")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.LINK_TEXT, "Compliance dashboard").click()

    assert browser.find_element(By.CSS_SELECTOR, "#card-frozen .n").text == "1"
    assert browser.find_element(By.CSS_SELECTOR, "#card-open .n").text == "1"
    assert browser.find_element(By.CSS_SELECTOR, "#card-declines .n").text == "1"
    assert "chargeback spike" in browser.find_element(By.ID, "frozen-wallets").text
    assert "kyc_required" in browser.find_element(By.ID, "declines").text
    browser.save_screenshot(str(ARTIFACTS / "compliance-dashboard.png"))

    browser.find_element(By.LINK_TEXT, str(case.pk)[:8]).click()
    browser.find_element(By.ID, "do-approve").click()
    browser.find_element(By.NAME, "reason").send_keys("called the customer: travelling in Europe")
    browser.save_screenshot(str(ARTIFACTS / "compliance-review-reason.png"))
    browser.find_element(By.NAME, "confirm").click()
    assert "Approve: 1 done." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    browser.save_screenshot(str(ARTIFACTS / "compliance-review-approved.png"))

    case.refresh_from_db()
    assert case.status == ReviewCase.Status.APPROVED and case.decided_by == officer
    assert Saga.objects.get(pk=saga.id).state == Saga.State.APPROVED
    assert (ARTIFACTS / "compliance-dashboard.png").stat().st_size > 10_000
