from django.db import transaction
from django.urls import path

from .hooks import FundingHookView
from .views import CreditView, DebitView, OperationView, TransferView

urlpatterns = [
    path("wallets/<uuid:wallet_id>/credit", CreditView.as_view(), name="wallet-credit"),
    path("wallets/<uuid:wallet_id>/debit", DebitView.as_view(), name="wallet-debit"),
    path("transfer", TransferView.as_view(), name="transfer"),
    # The long-poll must never run inside a request-wide transaction (ATOMIC_REQUESTS).
    path(
        "operations/<uuid:operation_id>",
        transaction.non_atomic_requests(OperationView.as_view()),
        name="operation",
    ),
    path("hooks/funding", FundingHookView.as_view(), name="funding-webhook"),
]
