# What `cmake --install` puts where, and the .deb CPack builds from it
# (`cpack -G DEB` in the build directory): the tracer, its hardened systemd
# unit, the default configuration, log rotation matching the SIGHUP reopen,
# the man page, bash completion and the docs.
include(GNUInstallDirs)
set(TRACER_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

install(TARGETS tracer RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})

# Debian installs man pages compressed; -n keeps the archive reproducible.
set(TRACER_MAN_PAGE ${CMAKE_CURRENT_BINARY_DIR}/tracer.8.gz)
add_custom_command(OUTPUT ${TRACER_MAN_PAGE}
                   COMMAND gzip -9nc ${TRACER_PACKAGING_DIR}/tracer.8 > ${TRACER_MAN_PAGE}
                   DEPENDS ${TRACER_PACKAGING_DIR}/tracer.8
                   COMMENT "Compressing the man page")
add_custom_target(tracer_man_page ALL DEPENDS ${TRACER_MAN_PAGE})
install(FILES ${TRACER_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${TRACER_PACKAGING_DIR}/tracer.bash-completion DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME tracer)
install(FILES ${TRACER_PACKAGING_DIR}/tracer.service DESTINATION /lib/systemd/system)
install(FILES ${TRACER_PACKAGING_DIR}/config.json DESTINATION /etc/tracer)
install(FILES ${TRACER_PACKAGING_DIR}/tracer.logrotate DESTINATION /etc/logrotate.d
        RENAME tracer)
file(GLOB TRACER_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${TRACER_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tracer)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tracer developers <tracer@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "exec and syscall tracer for Linux (CO-RE eBPF)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_LICENSE GPL-2.0-only)
# The libraries' package names and versions, from the binary (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Loaded at run time (dlopen), so dpkg-shlibdeps cannot see them: sd_notify
# for the unit's Type=notify, libmicrohttpd only for --metrics, libnats only for
# --output nats:.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libsystemd0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libmicrohttpd12, libnats3.4")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${TRACER_PACKAGING_DIR}/deb/conffiles ${TRACER_PACKAGING_DIR}/deb/postinst
                                       ${TRACER_PACKAGING_DIR}/deb/prerm ${TRACER_PACKAGING_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
