"""Cross-cutting pieces of the REST API: bearer JWT and scopes, Idempotency-Key, problem+json
errors, throttling, OpenAPI schema helpers and strict money fields. The apps' `api/` packages use them."""
