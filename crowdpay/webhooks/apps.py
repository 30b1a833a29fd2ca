from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "crowdpay.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crowdpay import metrics
        from wallets import monitors, signals

        from . import outbox
        from .metrics import WebhookCollector

        metrics.collector_register(WebhookCollector)
        # the ledger writes the balance monitors' messages with each movement, in its one call
        monitors.register(moved=outbox.balances_moved, written=outbox.inserted)
        signals.wallet_status_changed.connect(
            outbox.wallet_status_changed, weak=False, dispatch_uid="webhooks.wallet_status"
        )
