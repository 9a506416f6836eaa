# tracer as a container image: one static binary, nothing else (no shell, no
# package manager). Build it with scripts/build-image, which builds the static
# binary into build-static/ first; this file only packages it, so it builds
# offline with docker or podman.
#
#   docker run --rm --privileged --pid=host tracer:latest
FROM scratch
COPY build-static/tracer /tracer
ENTRYPOINT ["/tracer"]
CMD ["--output", "json"]
