#!/bin/sh
# Container entry point for web, worker and beat.
# - With CROWDPAY_DEV_SECRETS=1 (docker-compose's local default), every secret the production
#   settings require and the environment leaves empty is generated once into $CROWDPAY_SECRETS_DIR
#   (a volume shared by web, worker and beat) and exported. Production sets the variables and
#   leaves CROWDPAY_DEV_SECRETS unset: then nothing is generated and missing secrets stop the start.
# - PROMETHEUS_MULTIPROC_DIR is emptied: samples of a previous run's processes must not count.
set -eu

if [ "${CROWDPAY_DEV_SECRETS:-0}" = "1" ]; then
  dir="${CROWDPAY_SECRETS_DIR:-/app/var/shared/secrets}"
  python "$(dirname "$0")/dev_secrets.py" "$dir"
  for name in SECRET_KEY EVENT_HMAC_KEYS PII_ENCRYPTION_KEYS JWT_PUBLIC_KEY; do
    eval "current=\${$name:-}"
    if [ -z "$current" ]; then
      value="$(cat "$dir/$name")"
      export "$name=$value"
    fi
  done
  # `manage.py issue_token` signs with the private key kept beside the public one.
  export JWT_KEY_DIR="${JWT_KEY_DIR:-$dir}"
fi

if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

exec "$@"
