from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "crowdpay.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crowdpay import metrics
        from wallets import executor, signals

        from . import outbox
        from .metrics import WebhookCollector

        metrics.collector_register(WebhookCollector)

        if outbox.monitors not in executor.FOLLOWERS:
            executor.FOLLOWERS.append(outbox.monitors)
        signals.wallet_status_changed.connect(
            outbox.wallet_status_changed, weak=False, dispatch_uid="webhooks.wallet_status"
        )
