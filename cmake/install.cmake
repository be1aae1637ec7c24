# Install rules: headers, one export set per component, a package config that finds only
# the dependencies of the components asked for, a pkg-config file for the header-only
# core, and the licence.
#
#   find_package(prescient COMPONENTS core)         # C++20 only: no Eigen, xgboost, lzma, zlib, zstd
#   find_package(prescient COMPONENTS trace)        # + liblzma, zlib, zstd
#   find_package(prescient COMPONENTS learn)        # + Eigen, xgboost
#   find_package(prescient)                         # every installed component, and prescient::prescient
include(CMakePackageConfigHelpers)

install(DIRECTORY include/prescient DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(PRESCIENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/prescient)

install(TARGETS prescient_core EXPORT prescientCoreTargets)
install(EXPORT prescientCoreTargets NAMESPACE prescient:: DESTINATION ${PRESCIENT_CMAKE_DIR})
set(PRESCIENT_INSTALLED_COMPONENTS core)
if(TARGET prescient_trace)
  install(TARGETS prescient_trace EXPORT prescientTraceTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT prescientTraceTargets NAMESPACE prescient:: DESTINATION ${PRESCIENT_CMAKE_DIR})
  install(TARGETS prescient_learn EXPORT prescientLearnTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT prescientLearnTargets NAMESPACE prescient:: DESTINATION ${PRESCIENT_CMAKE_DIR})
  install(TARGETS prescient EXPORT prescientAllTargets)
  install(EXPORT prescientAllTargets NAMESPACE prescient:: DESTINATION ${PRESCIENT_CMAKE_DIR})
  list(APPEND PRESCIENT_INSTALLED_COMPONENTS trace learn)
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/prescientConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/prescientConfig.cmake INSTALL_DESTINATION ${PRESCIENT_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/prescientConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/prescientConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/prescientConfigVersion.cmake DESTINATION ${PRESCIENT_CMAKE_DIR})

# pkg-config for the header-only core: `pkg-config --cflags prescient-core`.
configure_file(${CMAKE_CURRENT_LIST_DIR}/prescient-core.pc.in ${CMAKE_CURRENT_BINARY_DIR}/prescient-core.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/prescient-core.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)

install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/prescient)
