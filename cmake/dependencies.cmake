# Every dependency comes from the distribution and is found through its own CMake
# config (or CMake's FindXXX module where the package ships none). Nothing is vendored
# and nothing is downloaded at configure time.
find_package(Eigen3 3.4 REQUIRED CONFIG)
find_package(xgboost REQUIRED CONFIG)
find_package(LibLZMA REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
# libzstd-dev ships a pkg-config file and no CMake config on Debian bookworm.
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
