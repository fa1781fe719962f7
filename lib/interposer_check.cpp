// interposer_check.cpp — grove::interposer_active(): asks the interposer, if it is loaded.
#include "grove/interposer.hpp"

#include <dlfcn.h>

namespace grove {

bool interposer_active() noexcept {
  // Exported by libgrove_preload.so (interpose/startup.cpp); absent when it is not loaded.
  using Check = int (*)();
  auto check = reinterpret_cast<Check>(::dlsym(RTLD_DEFAULT, "grove_interposer_hooks_in_effect"));
  return check && check() != 0;
}

}  // namespace grove
