"""What each event does to a wallet's balances. The one place this rule lives: the ledger engine
derives its balance updates from it, and replay rebuilds balances with it, so the projection and
the replay cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterable


class EventType:
    WALLET_OPENED = "WalletOpened"
    WALLET_CREDITED = "WalletCredited"
    WALLET_DEBITED = "WalletDebited"
    FUNDS_HELD = "FundsHeld"
    FUNDS_RELEASED = "FundsReleased"
    TRANSFER_INITIATED = "TransferInitiated"
    TRANSFER_COMPLETED = "TransferCompleted"
    TRANSFER_FAILED = "TransferFailed"
    CURRENCY_CONVERTED = "CurrencyConverted"
    WALLET_FROZEN = "WalletFrozen"
    WALLET_UNFROZEN = "WalletUnfrozen"
    WALLET_CLOSED = "WalletClosed"
    # CrowdPods (wallets.pods): membership, goals and approvals on the pod's stream change no
    # balance; a pledge is a hold on the member's own wallet (PledgeMade / PledgeReleased) and its
    # capture a TransferCompleted from that hold, credited to the pod (WalletCredited).
    POD_MEMBER_JOINED = "PodMemberJoined"
    POD_MEMBER_LEFT = "PodMemberLeft"
    POD_MEMBER_ROLE_CHANGED = "PodMemberRoleChanged"
    POD_MEMBER_INVITED = "PodMemberInvited"
    POD_INVITATION_WITHDRAWN = "PodInvitationWithdrawn"
    POD_POLICY_CHANGED = "PodPolicyChanged"
    POD_GOAL_SET = "PodGoalSet"
    POD_GOAL_REACHED = "PodGoalReached"
    POD_GOAL_EXPIRED = "PodGoalExpired"
    PLEDGE_MADE = "PledgeMade"
    PLEDGE_RELEASED = "PledgeReleased"
    POD_OUTFLOW_REQUESTED = "PodOutflowRequested"
    POD_OUTFLOW_APPROVED = "PodOutflowApproved"
    POD_OUTFLOW_REJECTED = "PodOutflowRejected"


# (currency, change of posted, change of held)
Effect = tuple[str, int, int]

# Every field of an event's data that `effects` reads, with its JSON type. Replay asks the database
# for these alone instead of decoding whole events (tests check that nothing else is read).
FIELDS: dict[str, str] = {
    "amount": "int",
    "currency": "str",
    "from_hold": "bool",
    "from_currency": "str",
    "from_amount": "int",
    "to_currency": "str",
    "to_amount": "int",
}


def effects(type: str, data: dict) -> list[Effect]:
    """The balance changes one event makes. Status events change no balance."""
    if type == EventType.WALLET_CREDITED:
        return [(data["currency"], data["amount"], 0)]
    if type in (EventType.WALLET_DEBITED, EventType.TRANSFER_COMPLETED):
        amount = data["amount"]
        return [(data["currency"], -amount, -amount if data.get("from_hold") else 0)]
    if type in (EventType.FUNDS_HELD, EventType.TRANSFER_INITIATED, EventType.PLEDGE_MADE):
        return [(data["currency"], 0, data["amount"])]
    if type in (EventType.FUNDS_RELEASED, EventType.TRANSFER_FAILED, EventType.PLEDGE_RELEASED):
        return [(data["currency"], 0, -data["amount"])]
    if type == EventType.CURRENCY_CONVERTED:
        return [(data["from_currency"], -data["from_amount"], 0), (data["to_currency"], data["to_amount"], 0)]
    return []


def fold(events: Iterable[tuple[str, dict]], into: dict[str, list[int]] | None = None) -> dict[str, list[int]]:
    """Replay events into {currency: [posted, held]}."""
    balances = into if into is not None else {}
    for type, data in events:
        for currency, posted, held in effects(type, data):
            row = balances.setdefault(currency, [0, 0])
            row[0] += posted
            row[1] += held
    return balances
