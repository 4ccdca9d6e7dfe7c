# `cmake --install` puts libredes, its public headers and a package config in
# the prefix, so a consumer project can find_package(redes) and link redes::redes.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The emulated build's libredes needs its stand-in CUDA runtime beside it.
set(redes_installed_targets redes)
if(REDES_CUDA_EMULATION)
  list(APPEND redes_installed_targets redes_cuda_emulation)
endif()
install(TARGETS ${redes_installed_targets} EXPORT redesTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES core/include/redes.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/redes)
foreach(header IN LISTS REDES_PUBLIC_HEADERS)
  install(FILES core/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/redes/core)
endforeach()
install(EXPORT redesTargets NAMESPACE redes:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/redes)
configure_package_config_file(cmake/redesConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/redesConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/redes)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/redesConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/redesConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/redesConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/redes)
