# Warnings are errors for our own code. Linked per target through ccs_warnings.
add_library(ccs_warnings INTERFACE)
target_compile_options(ccs_warnings INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual -Wundef -Wnull-dereference
  -Wimplicit-fallthrough -Wno-unused-parameter)
target_compile_definitions(ccs_warnings INTERFACE _GNU_SOURCE)
