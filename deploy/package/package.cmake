# package.cmake — install() rules and the CPack Debian package (included by the top-level
# CMakeLists.txt). `cmake --install build` or, from the build dir, `cpack -G DEB` gives:
#   /usr/bin/sitemailctl, /usr/sbin/sitemaild, /lib/systemd/system/sitemaild.service,
#   /usr/lib/sysusers.d/sitemail.conf (user sitemail), /etc/sitemail/sitemaild.conf (conffile),
#   /etc/default/sitemail (conffile), man pages, bash completion, /usr/share/doc/sitemail.
# Paths are the ones deploy/sitemaild.service names; the test is tests/package/ (ctest -L package).
set(PKG_DIR ${PROJECT_SOURCE_DIR}/deploy/package)

install(TARGETS sitemailctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS sitemaild RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})

# The packaged sitemaild.conf is the documented example with a database URL that works
# for a local PostgreSQL on Debian: Unix socket, peer authentication as the user sitemail
# (createuser sitemail; createdb -O sitemail sitemail).
file(READ ${PROJECT_SOURCE_DIR}/deploy/sitemaild.conf.example SITEMAIL_CONF)
string(REPLACE "# url = \n" "url = postgresql:///sitemail\n" SITEMAIL_CONF_PKG "${SITEMAIL_CONF}")
if(SITEMAIL_CONF_PKG STREQUAL SITEMAIL_CONF)
  message(FATAL_ERROR "deploy/sitemaild.conf.example has no '# url = ' line under [database]")
endif()
set(SITEMAIL_CONF_PKG "# Installed by the sitemail package (a conffile: your edits are kept on upgrade).\n${SITEMAIL_CONF_PKG}")
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/package/sitemaild.conf CONTENT "${SITEMAIL_CONF_PKG}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/sitemaild.conf.example)

install(FILES ${CMAKE_BINARY_DIR}/package/sitemaild.conf DESTINATION /etc/sitemail
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PKG_DIR}/default.sitemail DESTINATION /etc/default RENAME sitemail
        PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/sitemaild.service DESTINATION /lib/systemd/system)
install(FILES ${PKG_DIR}/sitemail.sysusers DESTINATION lib/sysusers.d RENAME sitemail.conf)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/completion/sitemailctl ${PROJECT_SOURCE_DIR}/deploy/completion/sitemaild
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

set(DOC_DEST ${CMAKE_INSTALL_DATADIR}/doc/sitemail)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/interface.md DESTINATION ${DOC_DEST})
# The guides README.md links to, at the same relative place (docs/*.md).
file(GLOB SITEMAIL_GUIDES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${SITEMAIL_GUIDES} DESTINATION ${DOC_DEST}/docs)
# Debian policy 12.5 and 12.7: the machine-readable copyright (the project's LICENSE) and
# the changelog, compressed with gzip -9n (reproducible).
install(FILES ${PKG_DIR}/copyright DESTINATION ${DOC_DEST})
set(SITEMAIL_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/package/changelog.gz)
add_custom_command(OUTPUT ${SITEMAIL_CHANGELOG_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/package
  COMMAND gzip -9n -c ${PKG_DIR}/changelog > ${SITEMAIL_CHANGELOG_GZ}
  DEPENDS ${PKG_DIR}/changelog
  COMMENT "Compressing the Debian changelog")
add_custom_target(package_changelog ALL DEPENDS ${SITEMAIL_CHANGELOG_GZ})
install(FILES ${SITEMAIL_CHANGELOG_GZ} DESTINATION ${DOC_DEST})
# What lintian reports and we keep on purpose, each with the reason (tests/package runs lintian).
install(FILES ${PKG_DIR}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME sitemail)
# Prometheus alert rules and the Grafana dashboard (docs/operations.md).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/sitemail.rules.yml
        ${PROJECT_SOURCE_DIR}/deploy/prometheus/grafana-dashboard.json
        DESTINATION ${DOC_DEST}/examples/prometheus)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/sitemaild.conf.example ${PROJECT_SOURCE_DIR}/deploy/examples/keys.txt
        DESTINATION ${DOC_DEST}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/examples/config/ DESTINATION ${DOC_DEST}/examples/config)

# Man pages, compressed as Debian policy wants (docs/CMakeLists.txt builds the .gz files).
install(FILES ${SITEMAIL_MAN_GZ_8} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${SITEMAIL_MAN_GZ_5} DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sitemail)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "sitemail")
set(CPACK_PACKAGE_CONTACT "sitemail maintainers <sitemail@lists.example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "multi-tenant outgoing-mail system manager (ILLiad model)")
set(CPACK_PACKAGE_DESCRIPTION "sitemaild delivers mail queued in PostgreSQL for many sites, each through\n its own SMTP relay with layered settings; sitemailctl is the admin tool.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# libpq5, libssl3, libboost-program-options1.74.0, libsystemd0, libstdc++6 … from the binaries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser | systemd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PKG_DIR}/conffiles ${PKG_DIR}/postinst ${PKG_DIR}/prerm ${PKG_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The files under /etc are the conffiles (deploy/package/conffiles lists them).
# Shipped binaries carry no debug info (smaller package, faster cpack).
set(CPACK_STRIP_FILES ON)
include(CPack)
