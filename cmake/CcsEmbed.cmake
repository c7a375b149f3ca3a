# ccs_embed_migrations(<target> <dir> <symbol>): compile the versioned *.sql files of <dir> into
# a C array `const ccs_migration <symbol>[]` (terminated by a zero version) so a daemon carries
# its own schema and cannot be started against files from another build.
function(ccs_embed_migrations target dir symbol)
  file(GLOB sqls CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT sqls)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${symbol} "-DFILES=${sqls}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_sql.cmake
    DEPENDS ${sqls} ${PROJECT_SOURCE_DIR}/cmake/embed_sql.cmake
    COMMENT "embedding migrations ${symbol}" VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
