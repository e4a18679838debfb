# cmake --install: headers, shared and static libraries, binaries, otelc.pc and a CMake package
# (find_package(otelc) gives otelc::otelc and otelc::otelc_static).
include(CMakePackageConfigHelpers)

set(otelc_install_targets "")
foreach(t otelc otelc_static otelc_wire otelc_proto)
  if(TARGET ${t})
    list(APPEND otelc_install_targets ${t})
  endif()
endforeach()
if(otelc_install_targets)
  install(TARGETS ${otelc_install_targets} EXPORT otelcTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT otelcTargets NAMESPACE otelc:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/otelc)
endif()
if(EXISTS ${PROJECT_SOURCE_DIR}/sdk/include/otelc)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/otelc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
if(TARGET otelc-receiver)
  install(TARGETS otelc-receiver RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(TARGET otelc-preload)
  install(TARGETS otelc-preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/otelc)
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/otelcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/otelcConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/otelc)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/otelcConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/otelcConfig.cmake ${PROJECT_BINARY_DIR}/otelcConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/otelc)

file(RELATIVE_PATH OTELC_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/otelc.pc.in ${PROJECT_BINARY_DIR}/otelc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/otelc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
