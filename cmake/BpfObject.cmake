# bpf_object(NAME SOURCE): compiles a CO-RE BPF program with clang against a
# vmlinux.h generated from the build machine's BTF, generates its libbpf
# skeleton and exposes it as an INTERFACE library NAME (include "NAME.skel.h").
# The BPF object is embedded in the skeleton: nothing is looked up at run time.

set(TRACER_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "BTF used to generate vmlinux.h")
set(TRACER_BPF_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/bpf-gen)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(TRACER_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(TRACER_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "tracer: no BPF target arch for ${CMAKE_SYSTEM_PROCESSOR}")
endif()

if(NOT EXISTS ${TRACER_VMLINUX_BTF})
  message(FATAL_ERROR "${TRACER_VMLINUX_BTF} missing: the build needs a kernel with CONFIG_DEBUG_INFO_BTF")
endif()

add_custom_command(
  OUTPUT ${TRACER_BPF_GEN_DIR}/vmlinux.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${TRACER_BPF_GEN_DIR}
  COMMAND ${BPFTOOL} btf dump file ${TRACER_VMLINUX_BTF} format c > ${TRACER_BPF_GEN_DIR}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${TRACER_BPF_GEN_DIR}/vmlinux.h.tmp ${TRACER_BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${TRACER_VMLINUX_BTF}"
  VERBATIM)

function(bpf_object name source)
  get_filename_component(source_dir ${source} DIRECTORY)
  file(GLOB headers CONFIGURE_DEPENDS ${source_dir}/*.h)
  set(bpf_werror)
  if(TRACER_WERROR)
    set(bpf_werror -Werror)
  endif()
  set(compiled ${TRACER_BPF_GEN_DIR}/${name}.compiled.bpf.o)
  set(object ${TRACER_BPF_GEN_DIR}/${name}.bpf.o)
  set(skeleton ${TRACER_BPF_GEN_DIR}/${name}.skel.h)
  # -g for BTF (CO-RE needs it); the DWARF that comes with it is dropped by
  # bpftool's linker, which keeps code, maps, BTF and BTF.ext: the object the
  # skeleton embeds shrinks from 1.8 MB to 0.7 MB, and so does the memory
  # libbpf touches parsing it at every start.
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${TRACER_BPF_ARCH}
            -Wall ${bpf_werror} -Wno-unused-function
            -I${TRACER_BPF_GEN_DIR} -I${source_dir} -c ${source} -o ${compiled}
    COMMAND ${BPFTOOL} gen object ${object} ${compiled}
    DEPENDS ${source} ${headers} ${TRACER_BPF_GEN_DIR}/vmlinux.h
    COMMENT "Compiling BPF object ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${BPFTOOL} gen skeleton ${object} name ${name} > ${skeleton}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skeleton}.tmp ${skeleton}
    DEPENDS ${object}
    COMMENT "Generating BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skeleton DEPENDS ${skeleton})
  add_library(${name} INTERFACE)
  add_dependencies(${name} ${name}_skeleton)
  target_include_directories(${name} INTERFACE ${TRACER_BPF_GEN_DIR} ${source_dir})
endfunction()
