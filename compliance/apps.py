from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from wallets import limits

        from . import roles, velocity

        # the ledger checks each outflow against the wallet's limit under the wallet's lock
        limits.register(default=velocity.default_limit, own=velocity.own_limit)

        post_migrate.connect(roles.on_post_migrate, sender=self, dispatch_uid="compliance-officer-group")
        # the blind index of names and emails follows every save of a profile (compliance.blind_index)
        from . import blind_index

        post_save.connect(
            blind_index.on_profile_saved, sender=self.get_model("KycProfile"), dispatch_uid="compliance-blind-index"
        )
