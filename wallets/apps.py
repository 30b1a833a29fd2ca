from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from crowdpay import metrics

        from .metrics import LedgerCollector

        metrics.collector_register(LedgerCollector)
