# ASan + UBSan for every target that links ccs_sanitizers (all of ours) when CCS_SANITIZE is on.
add_library(ccs_sanitizers INTERFACE)
if(CCS_SANITIZE)
  target_compile_options(ccs_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  target_link_options(ccs_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
# With libFuzzer, every library is instrumented for coverage too, so the fuzzers see the
# decoders' branches and not only their own file.
if(CCS_FUZZ)
  target_compile_options(ccs_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()
