"""The admin app with the staff sign-in rules of `crowdpay.auth_security` (listed in INSTALLED_APPS
in place of `django.contrib.admin`; a module of its own so the app registry imports no model)."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "crowdpay.auth_security.StaffAdminSite"
