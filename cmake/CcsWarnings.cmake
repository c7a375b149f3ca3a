# Warnings for our own code, linked per target through ccs_warnings; the presets make them
# errors (CCS_WERROR, on in every preset; a packager's own flags can turn it off).
option(CCS_WERROR "treat warnings as errors" OFF)
add_library(ccs_warnings INTERFACE)
target_compile_options(ccs_warnings INTERFACE
  $<$<BOOL:${CCS_WERROR}>:-Werror>
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wvla -Wpointer-arith -Wundef -Wnull-dereference
  -Wimplicit-fallthrough -Wno-unused-parameter
  # gcc only: clang reports the const casts inside protobuf-c's INIT macros even from a
  # SYSTEM header (cmake/CcsProtobufC.cmake); the gcc builds (dev, asan) keep the check.
  $<$<C_COMPILER_ID:GNU>:-Wcast-qual>)
target_compile_definitions(ccs_warnings INTERFACE _GNU_SOURCE)
