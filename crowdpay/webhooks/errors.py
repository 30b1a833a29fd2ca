"""Webhook error codes: stable strings clients switch on."""

from __future__ import annotations

from enum import StrEnum

from crowdpay.errors import CodedError


class WebhookErrorCode(StrEnum):
    ENDPOINT_NOT_FOUND = "webhook_endpoint_not_found"
    DELIVERY_NOT_FOUND = "webhook_delivery_not_found"
    MONITOR_NOT_FOUND = "monitor_not_found"
    URL_REFUSED = "webhook_url_refused"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_TRANSITION = "invalid_transition"
    TOO_MANY_ENDPOINTS = "too_many_endpoints"


class WebhookError(CodedError):
    statuses = {
        WebhookErrorCode.ENDPOINT_NOT_FOUND: 404,
        WebhookErrorCode.DELIVERY_NOT_FOUND: 404,
        WebhookErrorCode.MONITOR_NOT_FOUND: 404,
        WebhookErrorCode.INVALID_TRANSITION: 409,
    }
