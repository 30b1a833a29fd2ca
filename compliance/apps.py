from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from wallets import ledger

        from . import roles, velocity

        if velocity.outflow_statements not in ledger.WRITE_HOOKS:
            ledger.WRITE_HOOKS.append(velocity.outflow_statements)
        post_migrate.connect(roles.on_post_migrate, sender=self, dispatch_uid="compliance-officer-group")
        # the blind index of names and emails follows every save of a profile (compliance.blind_index)
        from . import blind_index

        post_save.connect(
            blind_index.on_profile_saved, sender=self.get_model("KycProfile"), dispatch_uid="compliance-blind-index"
        )
