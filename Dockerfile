# The web, worker and beat image: one image, three commands (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=crowdpay.settings.production

WORKDIR /app
COPY requirements/ requirements/
RUN pip install -r requirements/prod.txt

COPY . .
# Static files are collected at build time with the base settings (no secrets are needed for it).
RUN DJANGO_SETTINGS_MODULE=crowdpay.settings.base python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app crowdpay \
    && mkdir -p /app/var/shared /tmp/metrics \
    && chown -R crowdpay /app/var /tmp/metrics \
    && chmod 0755 docker/entrypoint.sh

USER crowdpay
EXPOSE 8000 9808
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["gunicorn", "crowdpay.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--threads", "32"]
