# Helpers for the test tree.
#
# ccs_add_unit_test(<name> SOURCES <files...> [LIBS <libs...>])
#   A unit test: its own process, label `unit`, 60 s timeout, no servers.
#
# ccs_add_fuzzer(<name> SOURCES <files...> [LIBS <libs...>] CORPUS <dir>)
#   A libFuzzer target (LLVMFuzzerTestOneInput). With CCS_FUZZ=ON (clang) it is a real
#   coverage-guided fuzzer; otherwise it links tests/fuzz/standalone_main.c, which replays the
#   corpus, so every build exercises the decoders on the corpus under ctest label `fuzz`.
#   Under libFuzzer the ctest run writes new inputs to a scratch directory in the build tree,
#   never into the checked-in corpus. The corpus stays the test command's last argument:
#   tests/fuzz/run_bounded.sh and tests/fuzz/campaign.sh find the targets and their corpora
#   through `ctest --show-only=json-v1 -L fuzz`.
function(ccs_add_unit_test name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  target_link_libraries(${name} PRIVATE ${A_LIBS} ccs_warnings ccs_sanitizers)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 60)
endfunction()

function(ccs_add_fuzzer name)
  cmake_parse_arguments(A "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(CCS_FUZZ)
    add_executable(${name} ${A_SOURCES})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/${name}.new)
    file(MAKE_DIRECTORY ${scratch})
    set(run ${name} -runs=20000 -max_total_time=60 -timeout=10 -rss_limit_mb=2048
      -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/${name}- ${scratch} ${A_CORPUS})
  else()
    add_executable(${name} ${A_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/standalone_main.c)
    set(run ${name} ${A_CORPUS})
  endif()
  target_link_libraries(${name} PRIVATE ${A_LIBS} ccs_warnings ccs_sanitizers)
  add_test(NAME ${name} COMMAND ${run})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 300)
endfunction()

# The `servers` fixture: deploy/dev/servers.sh up starts or reuses PostgreSQL and Kafka (or
# takes CCS_PG_URL / CCS_KAFKA_BOOTSTRAP from the environment).
# Registered once for the whole tree (a global property: if(TEST) sees one directory only).
function(ccs_servers_fixture)
  get_property(done GLOBAL PROPERTY CCS_SERVERS_FIXTURE)
  if(NOT done)
    set_property(GLOBAL PROPERTY CCS_SERVERS_FIXTURE ON)
    add_test(NAME servers_up COMMAND ${PROJECT_SOURCE_DIR}/deploy/dev/servers.sh up)
    set_tests_properties(servers_up PROPERTIES FIXTURES_SETUP servers TIMEOUT 900
      LABELS "integration;chaos;bench")
  endif()
endfunction()

# ccs_add_py_test(<name> <script> <labels> <timeout>): a python3 (stdlib only) test driving the
# built binaries against the servers; exit code 77 means skipped.
function(ccs_add_py_test name script labels timeout)
  ccs_servers_fixture()
  add_test(NAME ${name} COMMAND python3 ${script})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout}
    FIXTURES_REQUIRED servers SKIP_RETURN_CODE 77
    ENVIRONMENT "CCS_BUILD_DIR=${PROJECT_BINARY_DIR};CCS_SOURCE_DIR=${PROJECT_SOURCE_DIR};PYTHONPATH=${PROJECT_SOURCE_DIR}/tests/lib;PYTHONDONTWRITEBYTECODE=1")
endfunction()
