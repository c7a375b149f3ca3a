# What `cmake --install` and `cpack -G DEB` ship besides the binaries (each daemon and ccsctl
# install their own targets): systemd units, example configs, the database role scripts, the
# Prometheus rules and the data files. One Debian package, ccs-mtp; its maintainer scripts are
# in deploy/debian/ (the `ccs` system user, config ownership, systemd reload).
#
# Packaging build (what .ci/checks.sh does):
#   cmake -S . -B build/pkg -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DCCS_TESTS=OFF
#   cmake --build build/pkg -j2 && (cd build/pkg && cpack -G DEB)
# The prefix must be given at configure time: ccs-schedulingd compiles in the path of its MTU
# directory under it, and the systemd units name the binaries' directory.
include(GNUInstallDirs)

# ---------------------------------------------------------------- files from deploy/
set(CCS_DEPLOY ${PROJECT_SOURCE_DIR}/deploy)
# /etc/ccs whatever the prefix: the units and the docs name that path.
set(CCS_SYSCONFDIR /etc/ccs)
set(CCS_DATADIR ${CMAKE_INSTALL_DATADIR}/ccs)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(CCS_UNITDIR lib/systemd/system)
else()
  # cmake --install to /usr/local: units where the administrator's own go.
  set(CCS_UNITDIR /etc/systemd/system)
endif()

# The units in deploy/systemd name /usr/local (the default `cmake --install` prefix); the
# installed copies name where this build put the binaries and the data.
file(GLOB ccs_units CONFIGURE_DEPENDS ${CCS_DEPLOY}/systemd/*.service)
foreach(u ${ccs_units})
  get_filename_component(n ${u} NAME)
  file(READ ${u} text)
  string(REPLACE "/usr/local/bin" "${CMAKE_INSTALL_FULL_BINDIR}" text "${text}")
  string(REPLACE "/usr/local/share/ccs" "${CMAKE_INSTALL_FULL_DATADIR}/ccs" text "${text}")
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/deploy/systemd/${n} CONTENT "${text}")
  install(FILES ${CMAKE_BINARY_DIR}/deploy/systemd/${n} DESTINATION ${CCS_UNITDIR})
endforeach()

# Example configs: every line is a commented default, so they are safe to install as they are.
# Mode 0640 (they may come to hold kafka.* secrets); postinst makes them root:ccs.
file(GLOB ccs_confs CONFIGURE_DEPENDS ${CCS_DEPLOY}/etc/*.conf)
install(FILES ${ccs_confs} DESTINATION ${CCS_SYSCONFDIR}
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)

install(PROGRAMS ${CCS_DEPLOY}/sql/apply.sh DESTINATION ${CCS_DATADIR}/sql)
install(FILES ${CCS_DEPLOY}/sql/roles.sql DESTINATION ${CCS_DATADIR}/sql)
install(DIRECTORY ${CCS_DEPLOY}/prometheus/ DESTINATION ${CCS_DATADIR}/prometheus
  FILES_MATCHING PATTERN "*.yml")
install(DIRECTORY ${CCS_DEPLOY}/data/ DESTINATION ${CCS_DATADIR}/data)
if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/docs)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/ccs-mtp
    FILES_MATCHING PATTERN "*.md")
endif()

# ---------------------------------------------------------------- CPack: Debian package
set(CPACK_PACKAGE_NAME ccs-mtp)
set(CPACK_PACKAGE_VENDOR "CCS MTP pipeline project")
set(CPACK_PACKAGE_CONTACT "CCS MTP pipeline maintainers <ccs-mtp@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "CCS Medical Therapy Program pipeline: referral, eligibility and scheduling daemons")
set(CPACK_PACKAGE_DESCRIPTION
  "Three Kafka/PostgreSQL daemons (ccs-referrald, ccs-eligibilityd, ccs-schedulingd), the
ccsctl operator CLI, systemd units, example configurations in /etc/ccs, the PostgreSQL role
script, Prometheus rules and the MTU directory sample.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
# RelWithDebInfo builds carry debug info; the package ships stripped binaries.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from dpkg-shlibdeps (librdkafka1, libpq5, libuv1, ...); tzdata because
# every deadline is a California date read from /usr/share/zoneinfo.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata, passwd")
# psql runs deploy/sql/apply.sh (once, from any host that reaches the server).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")

# Maintainer scripts, plus conffiles: dpkg keeps an administrator's edits of /etc/ccs/*.conf
# across upgrades only for files listed there.
set(ccs_conffiles "")
foreach(c ${ccs_confs})
  get_filename_component(n ${c} NAME)
  string(APPEND ccs_conffiles "${CCS_SYSCONFDIR}/${n}\n")
endforeach()
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/deploy/debian/conffiles CONTENT "${ccs_conffiles}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/deploy/debian/conffiles
  ${CCS_DEPLOY}/debian/postinst
  ${CCS_DEPLOY}/debian/prerm
  ${CCS_DEPLOY}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
