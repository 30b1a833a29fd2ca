from django.apps import AppConfig


class CrowdpayConfig(AppConfig):
    name = "crowdpay"
    verbose_name = "CrowdPay Connect"
