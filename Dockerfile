# The app image: web (gunicorn), Celery worker and beat, and the sandbox EHR all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY requirements/prod.lock requirements/prod.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/prod.lock

COPY . .
# Static files are collected at build time with throwaway values; nothing here is kept.
RUN SECRET_KEY=build-only-$(python -c "import secrets; print(secrets.token_urlsafe(48))") \
    APP_BASE_URL=https://build.invalid \
    TOKEN_ENCRYPTION_KEYS=$(python -c "from config.environment import new_token_key; print(new_token_key())") \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
    && mkdir -p var/audit-archive var/prometheus \
    && useradd --system --home /app app && chown -R app /app/var
# var/ (run-time state, kept out of the build context by .dockerignore) belongs to the app user;
# var/prometheus seeds the compose volume the scrape secret is written to (docker-compose.yml).
USER app

EXPOSE 8000
# Metrics of every gunicorn worker: set PROMETHEUS_MULTIPROC_DIR (config/gunicorn.py empties it).
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
