from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "crowdpay.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from wallets import executor

        from . import outbox

        if outbox.monitors not in executor.FOLLOWERS:
            executor.FOLLOWERS.append(outbox.monitors)
