#!/usr/bin/env bash
# The container image, run the way users run it: built from this repository
# (scripts/build-image), started with podman as a privileged container in the
# host pid namespace, and, again, with only the capabilities it needs instead
# of --privileged. Execs marker programs on the host and checks that their
# JSON records come out of the container's stdout, with host pids, and that
# an exec inside the tracer's own container is left out.
#
# usage: image_test.sh SOURCE_DIR WORK_DIR
# Machine quirks (not the product's): runc instead of crun (crun refuses this
# machine's hybrid cgroup layout), explicit --ulimit (raising rlimits is
# forbidden here) and --network=host.
set -euo pipefail
source_dir=$1
work=$2
mkdir -p "$work"
tag=localhost/tracer-image-test:latest
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v podman >/dev/null || ! [ -x /usr/sbin/runc ]; then
  if [ "$(id -u)" -ne 0 ]; then
    [ -n "${CI:-}" ] && fail "podman and runc are missing and installing them needs root"
    echo "skipped: podman/runc missing (apt-get install podman runc)"; exit 0
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi
TRACER_STATIC_BUILD_DIR=${TRACER_STATIC_BUILD_DIR:-$work/static} ENGINE=podman "$source_dir/scripts/build-image" "$tag" >"$work/build.log" 2>&1 ||
  { tail -20 "$work/build.log"; fail "the image did not build"; }
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "image $tag: $size bytes"

# run_case NAME PODMAN-ARGS...: starts the container, waits for readiness,
# execs a marker on the host, waits for its record, stops the container.
run_case() {
  local name=$1
  shift
  local out=$work/$name.out err=$work/$name.err container=tracer-image-test-$name-$$
  podman rm -f "$container" >/dev/null 2>&1 || true
  podman --runtime /usr/sbin/runc run --rm --name "$container" --pid=host --network=host \
    --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$@" "$tag" --output json -v >"$out" 2>"$err" &
  local client=$!
  local deadline=$((SECONDS + 60))
  until grep -q '^tracer: tracing' "$err"; do
    [ $SECONDS -lt $deadline ] && kill -0 $client 2>/dev/null || { cat "$err"; fail "$name: tracer never became ready"; }
    sleep 0.05
  done
  grep -q '^tracer: running in a container' "$err" || { cat "$err"; fail "$name: its own container not recognised"; }
  # An exec inside the tracer's own container: left out of the output.
  podman exec "$container" /tracer --version >/dev/null
  local marker=tracer-image-$name-$$-$RANDOM
  /bin/true "$marker" &
  local pid=$!
  wait $pid
  deadline=$((SECONDS + 30))
  until grep -q "\"argv\":\[\"/bin/true\",\"$marker\"\]" "$out"; do
    [ $SECONDS -lt $deadline ] || { cat "$err"; fail "$name: no record of $marker on the container's stdout"; }
    sleep 0.05
  done
  local record
  record=$(grep "\"$marker\"" "$out" | head -1)
  [[ $record == *"\"event\":\"execve\",\"pid\":$pid,"* ]] || fail "$name: record without the host pid $pid: $record"
  [[ $record == *'"container_id":null'* ]] || fail "$name: a host process reported in a container: $record"
  ! grep -q '"argv":\["/tracer","--version"\]' "$out" || fail "$name: the tracer's own container was traced"
  podman kill --signal TERM "$container" >/dev/null
  wait $client || fail "$name: the container exited with status $?"
  grep -q 'events emitted, 0 lost' "$err" || { cat "$err"; fail "$name: no summary line"; }
  echo "ok: $name (pid $pid reported from the container)"
}

run_case privileged --privileged
# The minimal set: CAP_BPF and CAP_PERFMON for the programs and the ring
# buffer, CAP_SYS_RESOURCE for RLIMIT_MEMLOCK on kernels before 5.11; podman's
# default seccomp profile refuses bpf() to a container without CAP_SYS_ADMIN,
# hence seccomp=unconfined. Without CAP_SYS_ADMIN tracefs cannot be mounted:
# the tracer falls back to its raw syscall hooks.
run_case capabilities --cap-add CAP_BPF,CAP_PERFMON,CAP_SYS_RESOURCE --security-opt seccomp=unconfined
podman rmi -f "$tag" >/dev/null 2>&1 || true
