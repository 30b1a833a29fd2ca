from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "crowdpay.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wallets import ledger

        from . import outbox

        if outbox.monitor_statements not in ledger.BALANCE_HOOKS:
            ledger.BALANCE_HOOKS.append(outbox.monitor_statements)
