# ASan + UBSan for every target that links ccs_sanitizers (all of ours) when CCS_SANITIZE is on.
add_library(ccs_sanitizers INTERFACE)
if(CCS_SANITIZE)
  target_compile_options(ccs_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  target_link_options(ccs_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
