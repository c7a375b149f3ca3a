# Warnings are errors for our own code. Linked per target through ccs_warnings.
add_library(ccs_warnings INTERFACE)
target_compile_options(ccs_warnings INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wvla -Wpointer-arith -Wundef -Wnull-dereference
  -Wimplicit-fallthrough -Wno-unused-parameter
  # gcc only: clang reports the const casts inside protobuf-c's INIT macros even from a
  # SYSTEM header (cmake/CcsProtobufC.cmake); the gcc builds (dev, asan) keep the check.
  $<$<C_COMPILER_ID:GNU>:-Wcast-qual>)
target_compile_definitions(ccs_warnings INTERFACE _GNU_SOURCE)
