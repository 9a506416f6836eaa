# Coverage-guided fuzzing (libFuzzer): tests/fuzz holds one target per
# untrusted input (records, syscall arguments, escaping, --trace, --config,
# ELF files, the audit log), each with its seed corpus in tests/fuzz/<target>/.
#
# libFuzzer comes with clang, while the main build may use g++: the fuzzers
# are their own small CMake project (tests/fuzz/CMakeLists.txt), configured
# and built with clang into build/fuzz by an ExternalProject, over the same
# core sources (instrumented, with ASan and UBSan). Each target is a ctest
# (label fuzz) that runs it for TRACER_FUZZ_SECONDS on a copy of its corpus;
# scripts/run-tests runs that label two at a time.
option(TRACER_FUZZ "Build the libFuzzer targets (clang) and run each in the suite" ON)
set(TRACER_FUZZ_SECONDS 60 CACHE STRING "How long each fuzz ctest runs its target")

# tests/fuzz/<name>_fuzzer.cpp builds fuzz_<name>; its seeds are tests/fuzz/<name>/.
set(TRACER_FUZZ_TARGETS decode syscall_args escape filter config elf audit_verify)

if(TRACER_BUILD_TESTS AND TRACER_FUZZ)
  find_program(TRACER_FUZZ_CXX NAMES clang++ clang++-14)
  if(NOT TRACER_FUZZ_CXX)
    message(FATAL_ERROR "clang++ not found (for the fuzzers): apt-get install clang libclang-rt-14-dev, "
                        "or configure with -DTRACER_FUZZ=OFF")
  endif()
  include(ExternalProject)
  # A list crosses into the sub-project with another separator.
  string(REPLACE ";" "|" core_sources "${TRACER_CORE_SOURCES}")
  string(REPLACE ";" "|" targets "${TRACER_FUZZ_TARGETS}")
  ExternalProject_Add(tracer_fuzzers
    SOURCE_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz
    BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz
    LIST_SEPARATOR |
    CMAKE_ARGS -DCMAKE_CXX_COMPILER=${TRACER_FUZZ_CXX}
               -DCMAKE_BUILD_TYPE=RelWithDebInfo
               -DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER}
               -DTRACER_ROOT=${PROJECT_SOURCE_DIR}
               -DTRACER_CORE_SOURCES=${core_sources}
               -DTRACER_GENERATED_DIR=${CMAKE_BINARY_DIR}/generated
               -DTRACER_VERSION=${PROJECT_VERSION}
               -DTRACER_FUZZ_TARGETS=${targets}
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    USES_TERMINAL_BUILD ON)

  foreach(target ${TRACER_FUZZ_TARGETS})
    add_test(NAME fuzz.${target}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/fuzz/run-fuzzer.sh ${CMAKE_BINARY_DIR}/fuzz/fuzz_${target}
                     ${PROJECT_SOURCE_DIR}/tests/fuzz/${target} ${CMAKE_BINARY_DIR}/fuzz/runs/${target}
                     ${TRACER_FUZZ_SECONDS})
    set_tests_properties(fuzz.${target} PROPERTIES LABELS fuzz TIMEOUT 300)
  endforeach()
endif()
