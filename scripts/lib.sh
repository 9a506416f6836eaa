# Shared by scripts/run-tracer and scripts/run-tests: install the Debian
# packages that are missing, then configure and build.
set -euo pipefail

TRACER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${TRACER_BUILD_DIR:-$TRACER_ROOT/build}

RUNTIME_PACKAGES=(g++ cmake ninja-build pkg-config clang libbpf-dev bpftool libelf-dev zlib1g-dev
                  libcli11-dev libfmt-dev nlohmann-json3-dev libssl-dev libsystemd-dev libmicrohttpd-dev libseccomp-dev libnats-dev)
TEST_PACKAGES=(libgtest-dev python3-jsonschema chromium clang-format libbenchmark-dev libreadline-dev bash-completion dpkg-dev
               man-db systemd prometheus libclang-rt-14-dev rsyslog nats-server)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

configure_and_build() {
  local build_tests=$1
  shift
  cmake -S "$TRACER_ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DTRACER_BUILD_TESTS="$build_tests" -DTRACER_WERROR="$build_tests" >&2
  cmake --build "$BUILD_DIR" "$@" >&2
}

# The static tracer (-DTRACER_STATIC=ON), for container images and VM images:
# configures and builds into $1; the binary is $1/tracer.
build_static_tracer() {
  local dir=$1
  cmake -S "$TRACER_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRACER_STATIC=ON \
        -DTRACER_BUILD_TESTS=OFF >&2
  cmake --build "$dir" --target tracer >&2
}
