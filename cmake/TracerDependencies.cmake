# Every dependency is a Debian package; a missing one stops configuration with
# the package to install.
find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

macro(tracer_require_pkgconfig prefix module debian_package)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${module})
  if(NOT ${prefix}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debian_package}")
  endif()
endmacro()

macro(tracer_require_package name debian_package)
  find_package(${name} CONFIG QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "${name} not found: apt-get install ${debian_package}")
  endif()
endmacro()

macro(tracer_require_program var debian_package)
  find_program(${var} NAMES ${ARGN} PATHS /usr/sbin /sbin)
  if(NOT ${var})
    message(FATAL_ERROR "${ARGV2} not found: apt-get install ${debian_package}")
  endif()
endmacro()

tracer_require_pkgconfig(LIBBPF libbpf libbpf-dev)
tracer_require_pkgconfig(LIBELF libelf libelf-dev)
tracer_require_pkgconfig(ZLIB zlib zlib1g-dev)
tracer_require_pkgconfig(LIBSECCOMP libseccomp libseccomp-dev)
tracer_require_package(CLI11 libcli11-dev)
tracer_require_package(fmt libfmt-dev)
tracer_require_package(nlohmann_json nlohmann-json3-dev)
if(TRACER_STATIC)
  set(OPENSSL_USE_STATIC_LIBS TRUE)
endif()
find_package(OpenSSL QUIET COMPONENTS Crypto)
if(NOT OpenSSL_FOUND)
  message(FATAL_ERROR "OpenSSL's libcrypto not found: apt-get install libssl-dev")
endif()
# sd_notify for the systemd unit (Type=notify) and the --metrics HTTP
# endpoint. Debian ships no static libsystemd, and a static libmicrohttpd
# would drag GnuTLS and its dependencies in: the static build (images, VMs)
# goes without both, and says so when --metrics is asked for.
if(NOT TRACER_STATIC)
  tracer_require_pkgconfig(LIBSYSTEMD libsystemd libsystemd-dev)
  tracer_require_pkgconfig(LIBMICROHTTPD libmicrohttpd libmicrohttpd-dev)
endif()
tracer_require_program(BPF_CLANG clang clang clang-14)
tracer_require_program(BPFTOOL bpftool bpftool)
if(TRACER_BUILD_TESTS)
  tracer_require_package(GTest libgtest-dev)
endif()

# What the tracer links: shared libraries, or static archives by name (-static
# makes the linker take libbpf.a, libelf.a, libz.a, libseccomp.a) and fmt
# header-only.
if(TRACER_STATIC)
  set(TRACER_LIBBPF ${LIBBPF_STATIC_LIBRARIES})
  set(TRACER_LIBSECCOMP ${LIBSECCOMP_STATIC_LIBRARIES})
  set(TRACER_FMT fmt::fmt-header-only)
else()
  set(TRACER_LIBBPF PkgConfig::LIBBPF)
  set(TRACER_LIBSECCOMP PkgConfig::LIBSECCOMP)
  set(TRACER_FMT fmt::fmt)
endif()
