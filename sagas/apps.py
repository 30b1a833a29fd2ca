from django.apps import AppConfig


class SagasConfig(AppConfig):
    name = "sagas"
    verbose_name = "Sagas"

    def ready(self) -> None:
        # Compliance decides the review cases of sagas without importing this app (see
        # `compliance.operations`); the wallets' FX quotes read this app's FX gateway (`wallets.fx`).
        from compliance import operations
        from wallets import fx

        from . import gateways, metrics, queue, review

        operations.register(review.ReviewedSagas())
        # looked up late: tests replace the gateway
        fx.rate_source_register(lambda: gateways.fx_gateway(), local=lambda: gateways.TableFxGateway())
        metrics.connect()  # the operations and screening metrics, from the saga rows' saves
        queue.connect_worker_signals()
