from django.apps import AppConfig


class PodsConfig(AppConfig):
    name = "wallets.pods"
    label = "pods"
    verbose_name = "CrowdPods"

    def ready(self) -> None:
        from wallets import integrity, ledger

        from . import contributions

        if contributions.contribution_statements not in ledger.WRITE_HOOKS:
            ledger.WRITE_HOOKS.append(contributions.contribution_statements)
        if contributions.projection not in integrity.PROJECTIONS:
            integrity.PROJECTIONS.append(contributions.projection)
