from django.apps import AppConfig


class CrowdpayConfig(AppConfig):
    name = "crowdpay"
    verbose_name = "CrowdPay Connect"

    def ready(self):
        # Before the WSGI handler loads its middleware (Django instrumentation inserts its own):
        # a no-op unless the OTEL_* environment turns tracing on.
        from crowdpay.tracing import configure_tracing

        configure_tracing()
