"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

from crowdpay import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Ours first: django-prometheus' view plus the ledger gauges, multiprocess-aware.
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", include("django_prometheus.urls")),
]
