# Newsdesk: the Discord bot in a small image.
#   docker build -t newsdesk .
#   docker run -d --name newsdesk --env-file .env -v newsdesk-data:/data newsdesk
# The database lives in the /data volume; `docker exec newsdesk newsdesk backup /data/backup.db`
# copies it while the bot runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin newsdesk \
    && mkdir -p /data \
    && chown newsdesk:newsdesk /data

ENV NEWSDESK_DATABASE=/data/newsdesk.db
VOLUME ["/data"]
USER newsdesk
WORKDIR /data

# Unhealthy when the bot has stopped writing its heartbeat, has been disconnected from
# Discord for 2 minutes or has had no successful poll for 3 poll intervals. Docker knows
# only 0 and 1, so any failure (a missing database exits 2) is reported as 1.
HEALTHCHECK --interval=60s --timeout=20s --start-period=120s --retries=3 \
    CMD newsdesk health || exit 1

# `newsdesk run` stops cleanly on SIGTERM (docker stop): running jobs finish their writes.
CMD ["newsdesk", "run"]
