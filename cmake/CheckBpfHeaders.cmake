# Fails when a bpf/*.bpf.h does not compile on its own: each one, included
# alone in a one-line translation unit, with the flags of the BPF object
# (BpfObject.cmake). Run as a ctest (cmake -P) after vmlinux.h is generated.
# In: BPF_CLANG, BPF_ARCH, BPF_DIR (the sources), GEN_DIR (vmlinux.h), WORK_DIR.
if(NOT EXISTS ${GEN_DIR}/vmlinux.h)
  message(FATAL_ERROR "${GEN_DIR}/vmlinux.h missing: build the tracer first")
endif()
file(GLOB headers RELATIVE ${BPF_DIR} ${BPF_DIR}/*.bpf.h)
if(NOT headers)
  message(FATAL_ERROR "no *.bpf.h in ${BPF_DIR}")
endif()
file(MAKE_DIRECTORY ${WORK_DIR})
set(failed)
foreach(header ${headers})
  string(REPLACE ".bpf.h" "" stem ${header})
  set(unit ${WORK_DIR}/${stem}.c)
  file(WRITE ${unit} "#include \"${header}\"\n")
  execute_process(
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_ARCH} -Wall -Werror -Wno-unused-function
            -I${GEN_DIR} -I${BPF_DIR} -fsyntax-only ${unit}
    RESULT_VARIABLE result ERROR_VARIABLE errors OUTPUT_VARIABLE errors)
  if(NOT result EQUAL 0)
    list(APPEND failed ${header})
    message("${header} does not compile on its own:\n${errors}")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "not self-contained: ${failed}")
endif()
list(LENGTH headers count)
message(STATUS "${count} BPF headers compile on their own")
