# ccs_protobuf_c(<target> <proto_root> <files...>): generate protobuf-c code into the build dir
# and build it as a static library. Generated code is never committed.
function(ccs_protobuf_c target root)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/gen)
  set(srcs)
  foreach(p ${ARGN})
    string(REGEX REPLACE "\\.proto$" "" base ${p})
    set(c ${out}/${base}.pb-c.c)
    set(h ${out}/${base}.pb-c.h)
    add_custom_command(OUTPUT ${c} ${h}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND ${PROTOC_C} --c_out=${out} -I${root} ${root}/${p}
      DEPENDS ${root}/${p}
      COMMENT "protoc-c ${p}" VERBATIM)
    list(APPEND srcs ${c})
  endforeach()
  add_library(${target} STATIC ${srcs})
  # SYSTEM: the generated INIT macros cast away const; our warnings judge our code only.
  target_include_directories(${target} SYSTEM PUBLIC ${out})
  target_link_libraries(${target} PUBLIC PkgConfig::PROTOBUFC PRIVATE ccs_sanitizers)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
