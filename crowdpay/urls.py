"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from crowdpay import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Ours first: django-prometheus' view plus the ledger gauges, multiprocess-aware.
    path("metrics", metrics.metrics_view, name="metrics"),
    path("v1/", include("wallets.api.urls")),
    path("v1/", include("sagas.api.urls")),
    path("v1/", include("compliance.api.urls")),
    path("v1/", include("wallets.pods.api.urls")),
    path("v1/", include("crowdpay.webhooks.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("", include("django_prometheus.urls")),
]

# Errors outside DRF views (an unknown URL, a crash in middleware) are problem+json too.
handler400 = "crowdpay.api.problems.bad_request"
handler403 = "crowdpay.api.problems.permission_denied"
handler404 = "crowdpay.api.problems.not_found"
handler500 = "crowdpay.api.problems.server_error"
