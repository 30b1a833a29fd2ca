"""Production settings: the deployed settings (`deploy`), and no sandbox provider: KYC checks and
card charges go to the real providers, whose callbacks are verified with their secrets. The local
compose stack runs `crowdpay.settings.local_stack` instead, which is `deploy` on the sandboxes."""

from django.core.exceptions import ImproperlyConfigured

from .deploy import *  # noqa: F403
from .deploy import env

_PROVIDERS = {
    "KYC": ("KYC_SERVICE_ENDPOINT", "KYC_WEBHOOK_SECRET"),
    "payment": ("FUNDING_SERVICE_ENDPOINT", "FUNDING_WEBHOOK_SECRET"),
}
for _provider, _names in _PROVIDERS.items():
    _unset = [name for name in _names if not env.str(name, default="")]
    if _unset:
        raise ImproperlyConfigured(
            f"production settings refuse the sandbox {_provider} provider: set {', '.join(_unset)}"
        )
# Staff sign in to the admin with a password and a TOTP token (django-otp): never a password alone.
ADMIN_REQUIRE_OTP = True
if WEBHOOK_ALLOW_PRIVATE_URLS or WEBHOOK_ALLOW_HTTP:  # noqa: F405
    raise ImproperlyConfigured(
        "production settings refuse webhook URLs that are not https or that resolve to private addresses:"
        " unset WEBHOOK_ALLOW_PRIVATE_URLS and WEBHOOK_ALLOW_HTTP"
    )
