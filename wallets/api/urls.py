from rest_framework.routers import SimpleRouter

from .views import WalletViewSet

router = SimpleRouter(trailing_slash=False)
router.register("wallets", WalletViewSet, basename="wallet")

urlpatterns = router.urls
