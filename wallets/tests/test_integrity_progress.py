"""verify_events, replay_events and reconcile show their progress: a bar on a terminal, a periodic
log line (done / total, rate, time left) when their output is not one."""

import io
import logging
import re
import uuid

import pytest
from django.core.management import call_command

from wallets import integrity, services
from wallets.tests.factories import WalletFactory, funded

pytestmark = pytest.mark.django_db

LINE = r"{label}: {done}/{done} events \(100%\), .* left"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _ledger() -> int:
    a, b = funded(amount=500), WalletFactory()
    services.transfer_execute(
        transfer_id=uuid.uuid4(), from_wallet_id=a.id, to_wallet_id=b.id, amount=5, currency="USD"
    )
    return integrity.Event.objects.count()


def _progress_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wallets.integrity"]


@pytest.mark.parametrize(
    ("command", "labels"),
    [
        (["verify_events"], ["verify_events"]),
        (["replay_events", "--dry-run"], ["replay_events"]),
        (["reconcile"], ["replay_events", "verify_events"]),
    ],
)
def test_off_a_terminal_each_pass_logs_its_progress(command, labels, caplog, monkeypatch):
    events = _ledger()
    monkeypatch.setattr(integrity, "LOG_EVERY_SECONDS", 0.0)  # a line at every wallet, and the last one
    caplog.set_level(logging.INFO, logger="wallets.integrity")
    call_command(*command, stdout=io.StringIO(), stderr=io.StringIO())
    lines = _progress_lines(caplog)
    for label in labels:
        ours = [line for line in lines if line.startswith(f"{label}: ")]
        assert len(ours) >= 2, lines  # periodic lines, then the closing one
        assert re.fullmatch(LINE.format(label=label, done=events), ours[-1]), ours[-1]
        assert re.match(rf"{label}: \d+/{events} events \(\d+%\), .*/s, ", ours[0]), ours[0]


def test_the_log_line_waits_for_its_interval(caplog):
    caplog.set_level(logging.INFO, logger="wallets.integrity")
    progress = integrity.Progress("verify_events", 1_000, stream=io.StringIO())
    progress.update(10)
    assert _progress_lines(caplog) == []  # LOG_EVERY_SECONDS not elapsed yet
    progress.close()
    (line,) = _progress_lines(caplog)  # the closing line
    assert line.startswith("verify_events: 10/1,000 events (1%), ") and line.endswith(" left"), line


def test_on_a_terminal_a_bar_is_drawn_and_nothing_is_logged(caplog):
    _ledger()
    caplog.set_level(logging.INFO, logger="wallets.integrity")
    terminal = Terminal()
    result = integrity.verify(progress=integrity.Progress.to(terminal))
    assert result.problems == []
    drawn = terminal.getvalue()
    assert "verify_events" in drawn and "100%" in drawn and "events/s" in drawn
    assert _progress_lines(caplog) == []


def test_library_calls_show_nothing(caplog, capsys):
    _ledger()
    caplog.set_level(logging.INFO, logger="wallets.integrity")
    assert integrity.verify().problems == [] and integrity.replay(dry_run=True).mismatches == []
    assert _progress_lines(caplog) == [] and capsys.readouterr().err == ""
