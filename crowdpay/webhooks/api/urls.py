from django.urls import path

from . import views

urlpatterns = [
    path("webhook-endpoints", views.EndpointListView.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<uuid:endpoint_id>", views.EndpointDetailView.as_view(), name="webhook-endpoint"),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/rotate-secret",
        views.EndpointRotateView.as_view(),
        name="webhook-endpoint-rotate",
    ),
    path("webhook-endpoints/<uuid:endpoint_id>/disable", views.EndpointDisableView.as_view(), name="webhook-disable"),
    path("webhook-endpoints/<uuid:endpoint_id>/enable", views.EndpointEnableView.as_view(), name="webhook-enable"),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/deliveries", views.DeliveryListView.as_view(), name="webhook-deliveries"
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/deliveries/<str:delivery_id>/replay",
        views.DeliveryReplayView.as_view(),
        name="webhook-delivery-replay",
    ),
    path("webhook-endpoints/<uuid:endpoint_id>/replay", views.ReplayFailedView.as_view(), name="webhook-replay"),
    path("wallets/<uuid:wallet_id>/monitors", views.MonitorListView.as_view(), name="wallet-monitors"),
    path(
        "wallets/<uuid:wallet_id>/monitors/<uuid:monitor_id>",
        views.MonitorDetailView.as_view(),
        name="wallet-monitor",
    ),
]
