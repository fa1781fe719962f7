#!/usr/bin/env bash
# Installs grove into a scratch prefix and builds two consumers against it through grove.pc:
# one with plain Make, one with CMake's pkg-config module. Proves `meson install` is usable.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

meson setup "$work/build" "$src" --prefix="$prefix" --libdir=lib -Dtests=false -Dsamples=false \
  -Dbenchmarks=false >/dev/null
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
echo "install check: headers, libgrove and grove.pc work from Make and CMake"
