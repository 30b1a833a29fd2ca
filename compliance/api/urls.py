from django.urls import path

from .views import KycBusinessView, KycCallbackView, KycPersonView, KycStatusView

urlpatterns = [
    path("kyc", KycStatusView.as_view(), name="kyc-status"),
    path("kyc/person", KycPersonView.as_view(), name="kyc-person"),
    path("kyc/business", KycBusinessView.as_view(), name="kyc-business"),
    path("hooks/kyc", KycCallbackView.as_view(), name="kyc-callback"),
]
