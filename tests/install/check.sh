#!/usr/bin/env bash
# Installs grove (a release build, as a consumer would make it) into a scratch prefix and builds
# consumers against it: through grove.pc with plain Make and with CMake's pkg-config module, through
# grove-preload.pc, and through the CMake package (find_package(grove CONFIG): grove::grove,
# grove::preload). The interposer must stay linked under --as-needed when nothing references it.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

meson setup "$work/build" "$src" --prefix="$prefix" --libdir=lib --buildtype=release -Dtests=false \
  -Dsamples=false -Dbenchmarks=false >/dev/null
ninja -C "$work/build" >/dev/null
meson install -C "$work/build" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export LD_LIBRARY_PATH="$prefix/lib"

cat >"$work/consumer.cpp" <<'CPP'
#include <grove/grove.hpp>
#include <cstdio>
int main() {
  auto g = grove::spawn([] { grove::sleep(std::chrono::milliseconds(5)); return 42; });
  std::printf("%d\n", g.get());
  return g.get() == 42 ? 0 : 1;
}
CPP

# Make
mkdir "$work/make"
cat >"$work/make/Makefile" <<'MK'
CXXFLAGS += $(shell pkg-config --cflags grove)
LDLIBS += $(shell pkg-config --libs grove)
consumer: ../consumer.cpp
	$(CXX) $(CXXFLAGS) -o $@ $< $(LDLIBS)
MK
make -s -C "$work/make" consumer
[ "$("$work/make/consumer")" = 42 ] || { echo "install check: Make consumer failed"; exit 1; }

# CMake
if command -v cmake >/dev/null; then
  mkdir "$work/cmake"
  cat >"$work/cmake/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(consumer CXX)
find_package(PkgConfig REQUIRED)
pkg_check_modules(GROVE REQUIRED IMPORTED_TARGET grove)
add_executable(consumer ../consumer.cpp)
target_link_libraries(consumer PkgConfig::GROVE)
CM
  cmake -S "$work/cmake" -B "$work/cmake/build" >/dev/null
  cmake --build "$work/cmake/build" >/dev/null
  [ "$("$work/cmake/build/consumer")" = 42 ] || { echo "install check: CMake consumer failed"; exit 1; }
fi
# A program that names nothing of the interposer (its blocking calls could all be in libpq), linked
# with --as-needed: grove-preload.pc's flags keep the interposer.
cat >"$work/preload.cpp" <<'CPP'
#include <grove/grove.hpp>
#include <cstdio>
int main() {
  std::printf("%d\n", grove::interposer_active() ? 1 : 0);
}
CPP
# shellcheck disable=SC2046
g++ -std=c++20 -Wl,--as-needed -o "$work/preload_pc" "$work/preload.cpp" $(pkg-config --cflags --libs grove-preload)
[ "$("$work/preload_pc")" = 1 ] || { echo "install check: grove-preload.pc: interposer dropped by --as-needed"; exit 1; }
# shellcheck disable=SC2046
g++ -std=c++20 -Wl,--as-needed -o "$work/preload_plain" "$work/preload.cpp" -L"$prefix/lib" -lgrove_preload \
  $(pkg-config --cflags --libs grove)
[ "$("$work/preload_plain")" = 0 ] || { echo "install check: interposer_active() cannot tell a dropped interposer"; exit 1; }

if command -v cmake >/dev/null; then
  mkdir "$work/cmake-config"
  cat >"$work/cmake-config/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(consumer CXX)
find_package(grove CONFIG REQUIRED)
add_executable(consumer ../consumer.cpp)
target_link_libraries(consumer grove::grove)
add_executable(preload ../preload.cpp)
target_link_libraries(preload grove::preload)
CM
  cmake -S "$work/cmake-config" -B "$work/cmake-config/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed >/dev/null
  cmake --build "$work/cmake-config/build" >/dev/null
  [ "$("$work/cmake-config/build/consumer")" = 42 ] || { echo "install check: find_package(grove) consumer failed"; exit 1; }
  [ "$("$work/cmake-config/build/preload")" = 1 ] || { echo "install check: grove::preload dropped by --as-needed"; exit 1; }
fi
echo "install check: a release build installs; grove.pc, grove-preload.pc and find_package(grove) work from Make and CMake"
