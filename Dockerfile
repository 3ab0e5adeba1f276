# One image recipe for every Flokk service; the service is chosen at build time:
#
#   docker build --build-arg SERVICE=registration -t flokk-registration:0.1.0 .
#
# SERVICE is one of: gateway, registration, matching, notification, directory.
# Not built on the project's machines (no Docker engine there): reviewed, not tested. See
# docs/operations.md.

# --- build: the project and its pinned dependencies into a venv -------------------------------
FROM python:3.11.7-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/flokk
COPY pyproject.toml README.md ./
COPY services ./services
RUN /opt/flokk/bin/pip install . \
 && /opt/flokk/bin/python -c "import nameko, pymongo, marshmallow, services.common.observability"

# --- runtime: the venv, the config, an unprivileged user; nothing else ------------------------
FROM python:3.11.7-slim-bookworm AS runtime
ARG SERVICE
RUN case "${SERVICE}" in gateway|registration|matching|notification|directory) ;; \
      *) echo "build with --build-arg SERVICE=<gateway|registration|matching|notification|directory>" >&2; exit 1 ;; \
    esac \
 && groupadd --system --gid 10001 flokk \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin flokk
COPY --from=build /opt/flokk /opt/flokk
COPY services/config.yml /etc/flokk/config.yml
ENV PATH=/opt/flokk/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FLOKK_SERVICE=${SERVICE} \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9100
LABEL org.opencontainers.image.title="flokk-${SERVICE}" \
      org.opencontainers.image.source="Flokk" \
      org.opencontainers.image.licenses="MIT"
# The root filesystem may be read-only (Kubernetes mounts /tmp): nothing is written at run time.
USER 10001:10001
WORKDIR /opt/flokk
EXPOSE 9100 8000
# For a plain container runtime; Kubernetes uses its own probes on the same endpoints.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ['METRICS_PORT'], timeout=3)"
# exec: nameko is PID 1 and receives SIGTERM itself.
CMD exec nameko run --config /etc/flokk/config.yml "services.${FLOKK_SERVICE}.service"
