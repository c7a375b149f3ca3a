# ccs_runtime: the daemon runtime (included from common/CMakeLists.txt).
add_library(ccs_runtime STATIC
  cfg/cfg.c
  pg/pg.c
  hdrs/hdrs.c
  pb/pbutf8.c
  metrics/metrics.c
  http/http.c
  svc/svc.c
  svc/svc_consume.c
  svc/svc_relay.c
  svc/svc_due.c
  svc/svc_kafka.c
  svc/svc_tx.c)
ccs_embed_migrations(ccs_runtime ${CMAKE_CURRENT_SOURCE_DIR}/migrations ccs_runtime_migrations)
target_include_directories(ccs_runtime PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
target_link_libraries(ccs_runtime
  PUBLIC ccs_base PkgConfig::RDKAFKA PkgConfig::PROTOBUFC PkgConfig::LIBUV PkgConfig::LIBPQ
         PkgConfig::JANSSON Threads::Threads m
  PRIVATE ccs_warnings ccs_sanitizers)
