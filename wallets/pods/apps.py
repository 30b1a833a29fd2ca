from django.apps import AppConfig


class PodsConfig(AppConfig):
    name = "wallets.pods"
    label = "pods"
    verbose_name = "CrowdPods"

    def ready(self) -> None:
        from wallets import integrity

        from . import contributions

        if contributions.projection not in integrity.PROJECTIONS:
            integrity.PROJECTIONS.append(contributions.projection)
