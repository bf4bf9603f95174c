# crdtpad in a container: the same build commands as `make` (README, "Docker"), no engine needed
# to test them — tests/hosting/test_docker.py runs these steps and checks they match the Makefile.

# 1. The web app, built with Node (npm ci + vite build, exactly as the Makefile does).
FROM node:20-bookworm-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# 2. The Python package with the built app inside, run as a non-root user, data in a volume.
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home crdtpad \
    && mkdir -p /data && chown crdtpad:crdtpad /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src/ src/
COPY --from=web /build/src/crdtpad/webapp/ src/crdtpad/webapp/
RUN pip install --no-cache-dir .
USER crdtpad
ENV CRDTPAD_HOST=0.0.0.0 \
    CRDTPAD_PORT=8000 \
    CRDTPAD_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["crdtpad", "serve"]
