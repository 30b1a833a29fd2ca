"""OpenAPI generation (drf-spectacular): the bearer scheme, each operation's scope, the
Idempotency-Key header and the problem+json responses, added once here rather than per view."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from . import idempotency
from .permissions import SCOPES, ScopeRequired
from .problems import CONTENT_TYPE, ProblemSerializer

SCHEME = "bearerAuth"

_PROBLEM_DESCRIPTIONS = {
    400: "Invalid input (`validation_error`, `unknown_field`, `malformed_request`, `unsupported_currency`, "
    "`invalid_amount`, `idempotency_key_required` …). A body field or query parameter the operation does not "
    "take is refused as `unknown_field`, naming it in `errors`.",
    401: "Missing, expired or invalid bearer token (`not_authenticated`, `invalid_token`)",
    403: "The token lacks this operation's scope (`insufficient_scope`)",
    404: "No such resource for this caller (`not_found`, `wallet_not_found`, `operation_not_found`)",
    409: "Conflict (`idempotency_key_in_progress`, `invalid_transition` …)",
    413: "The request body is larger than the service accepts (`payload_too_large`)",
    415: "The body is not `application/json` (`unsupported_media_type`)",
    422: "Refused by the domain (`insufficient_funds`, `wallet_frozen`, `idempotency_key_reused` …)",
    429: "Too many writes for this caller (`rate_limited`); see `Retry-After`",
    503: "A dependency (database, broker) is down (`dependency_unavailable`); retry after `Retry-After` "
    "seconds with the same Idempotency-Key",
}


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "crowdpay.api.authentication.BearerTokenAuthentication"
    name = SCHEME
    priority = 10

    def get_security_definition(self, auto_schema):
        scopes = "\n".join(f"- `{scope}`: {text}" for scope, text in SCOPES.items())
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "An RS256 JWT whose `sub` is the caller's user id (a UUID) and whose `scope` claim is a "
                "space-separated list of scopes. Each operation names the scope it needs in "
                f"`x-required-scopes`.\n\n{scopes}"
            ),
        }


class AutoSchema(openapi.AutoSchema):
    def _handler(self):
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def _scopes(self) -> list[str]:
        return [p.scope for p in self.view.get_permissions() if isinstance(p, ScopeRequired)]

    def _idempotency(self) -> str | None:
        return getattr(self._handler(), "idempotency", None)

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        mode = self._idempotency()
        if mode:
            parameters.append(
                OpenApiParameter(
                    name=idempotency.HEADER,
                    type=OpenApiTypes.STR,
                    location=OpenApiParameter.HEADER,
                    required=mode == "required",
                    description=(
                        "A unique key per intended operation (e.g. a UUID), kept 24 h. A retry with the same key "
                        "and body replays the first response (header `Idempotent-Replayed: true`); the same key "
                        "with another body is 422 `idempotency_key_reused`; while the first request runs, 409 "
                        "`idempotency_key_in_progress`."
                    ),
                )
            )
        return parameters

    # drf-spectacular's get_description(self) replaces DRF's get_description(self, path, method) by design
    def get_description(self):  # type: ignore[override]  # spectacular's signature, see above
        description = super().get_description() or ""
        scopes = self._scopes()
        if scopes:
            description = f"{description}\n\nRequires scope: {', '.join(f'`{s}`' for s in scopes)}.".strip()
        return description

    def get_extensions(self):
        extensions = dict(super().get_extensions() or {})
        scopes = self._scopes()
        if scopes:
            extensions["x-required-scopes"] = scopes
        return extensions

    def _problem_statuses(self) -> list[int]:
        statuses = {400, 401, 503}  # 400: any operation refuses an unknown query parameter
        if self._scopes():
            statuses.add(403)
        if "{" in self.path:
            statuses.add(404)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses |= {413, 415, 422, 429}
            if getattr(self.view, "problem_404_on_write", False):
                statuses.add(404)
        if self._idempotency():
            statuses |= {409, 422}
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._problem_statuses():
            responses.setdefault(
                str(status),
                self._get_response_for_code(
                    OpenApiResponse(ProblemSerializer, description=_PROBLEM_DESCRIPTIONS[status]),
                    str(status),
                    [CONTENT_TYPE],
                    direction,
                ),
            )
        return responses
