from django.urls import path
from rest_framework.routers import SimpleRouter

from .convert import ConvertView, QuoteView
from .views import WalletViewSet

router = SimpleRouter(trailing_slash=False)
router.register("wallets", WalletViewSet, basename="wallet")

urlpatterns = [
    *router.urls,
    path("wallets/<uuid:wallet_id>/quotes", QuoteView.as_view(), name="wallet-quotes"),
    path("wallets/<uuid:wallet_id>/convert", ConvertView.as_view(), name="wallet-convert"),
]
