"""Scope permissions. Each endpoint names the one scope it needs; a token without it is 403.

`wallet:admin` is a service scope: it lets a caller act on any owner's wallets (see
`Caller.owner_filter`), it does not replace the endpoint's own scope.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from .authentication import Caller


class ScopeRequired(BasePermission):
    scope: str = ""

    @property
    def message(self) -> str:
        return f"this token lacks the `{self.scope}` scope"

    code = "insufficient_scope"

    def has_permission(self, request, view) -> bool:
        user = request.user
        # No caller at all: DRF turns the refusal into 401 because an authenticator exists.
        return isinstance(user, Caller) and user.has_scope(self.scope)


def scope_required(scope: str) -> type[ScopeRequired]:
    name = "".join(part.capitalize() for part in scope.replace(":", "_").split("_")) + "Scope"
    return type(name, (ScopeRequired,), {"scope": scope, "__doc__": f"Requires the `{scope}` scope."})


WalletCreateScope = scope_required("wallet:create")
WalletReadScope = scope_required("wallet:read")
WalletCreditScope = scope_required("wallet:credit")
WalletDebitScope = scope_required("wallet:debit")
WalletTransferScope = scope_required("wallet:transfer")
WalletAdminScope = scope_required("wallet:admin")
KycWriteScope = scope_required("kyc:write")
KycReadScope = scope_required("kyc:read")
PodReadScope = scope_required("pod:read")
PodWriteScope = scope_required("pod:write")
WebhookManageScope = scope_required("webhook:manage")

SCOPES = {
    "wallet:create": "open wallets",
    "wallet:read": "read wallets, their events and operations",
    "wallet:credit": "credit wallets (funding)",
    "wallet:debit": "debit wallets (withdrawals)",
    "wallet:transfer": "move money between wallets, and convert currencies inside one (quotes, conversions)",
    "wallet:admin": "act on any owner's wallets (service scope)",
    "kyc:write": "submit (or resubmit) the caller's own KYC/KYB profile",
    "kyc:read": "read the caller's own KYC/KYB status",
    "pod:read": "read the CrowdPods the caller belongs to: members, goals, pledges, outflows, contributions",
    "pod:write": "act in the caller's CrowdPods as their pod role allows (members, goals, pledges, outflows, votes)",
    "webhook:manage": "manage the caller's own webhook endpoints, their delivery log, and balance monitors",
}
