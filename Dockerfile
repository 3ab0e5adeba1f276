# One image for every Flokk service; the service is chosen at run time by FLOKK_SERVICE
# (gateway, registration, matching, notification or directory; scripts/run_service.sh). Given a
# command, the image runs that instead: the topology Job runs `python -m services.common.topology`.
#
#   make image    (scripts/image.sh: Debian's buildah, chroot isolation, vfs storage, no Docker engine)
#
# The base, BASE_IMAGE:BASE_TAG, is any Debian bookworm image with its python3 (3.11): `make image`
# builds one here with debootstrap (localhost/flokk-base:bookworm), as no outside image can be fetched.
ARG BASE_IMAGE=localhost/flokk-base
ARG BASE_TAG=bookworm

# --- build: the project and its pinned dependencies into a venv -------------------------------
FROM ${BASE_IMAGE}:${BASE_TAG} AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python3 -m venv /opt/flokk
COPY pyproject.toml README.md ./
COPY services ./services
# pip is not needed at run time: out of the venv once the project is in. setuptools stays:
# nameko's command line imports pkg_resources.
RUN /opt/flokk/bin/pip install -q . \
 && /opt/flokk/bin/pip uninstall -q -y pip \
 && cd / && /opt/flokk/bin/python -c "import nameko.cli.main, pymongo, marshmallow, ortools, services.common.observability, services.common.runner"

# --- runtime: the venv, the config, the entrypoint, an unprivileged user; nothing else ------------
FROM ${BASE_IMAGE}:${BASE_TAG} AS runtime
RUN groupadd --system --gid 10001 flokk \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin flokk
COPY --from=build /opt/flokk /opt/flokk
COPY services/config.yml /etc/flokk/config.yml
COPY scripts/run_service.sh /usr/local/bin/flokk-service
# No secret is baked in: the broker and store URIs, keys and passwords come from the environment.
# HTTP (the gateway) and the metrics server listen on every interface of the pod by default.
ENV PATH=/opt/flokk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9100 \
    WEB_SERVER_ADDRESS=0.0.0.0:8000
LABEL org.opencontainers.image.title="flokk" \
      org.opencontainers.image.description="Flokk services; FLOKK_SERVICE chooses one" \
      org.opencontainers.image.licenses="MIT"
# The root filesystem may be read-only: nothing is written at run time outside /tmp (the .pyc
# files are compiled at build time, PYTHONDONTWRITEBYTECODE keeps it so).
USER 10001:10001
WORKDIR /opt/flokk
EXPOSE 9100 8000
# For a plain container runtime; Kubernetes uses its own probes on the same endpoints.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ['METRICS_PORT'], timeout=3)"]
ENTRYPOINT ["/usr/local/bin/flokk-service"]
