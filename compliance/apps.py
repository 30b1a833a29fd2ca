from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from wallets import ledger

        from . import velocity

        if velocity.outflow_statements not in ledger.WRITE_HOOKS:
            ledger.WRITE_HOOKS.append(velocity.outflow_statements)
