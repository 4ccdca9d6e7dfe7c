#include "kernels/kernel_settings.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "core/error.h"

namespace redes {

namespace {

// -1: not read yet; the environment is consulted on first use.
std::atomic<int> g_impl{-1};
std::atomic<int> g_deterministic{-1};
std::atomic<int> g_tf32{-1};

bool parse_flag(const char* variable) {
  const char* text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return false;
  const std::string value = text;
  if (value == "1" || value == "true" || value == "on") return true;
  if (value == "0" || value == "false" || value == "off") return false;
  throw Error(std::string(variable) + ": expected 0 or 1, got \"" + value + "\"");
}

int read_once(std::atomic<int>& slot, int (*from_environment)()) {
  int value = slot.load();
  if (value < 0) {
    int expected = -1;
    value = from_environment();
    if (!slot.compare_exchange_strong(expected, value)) value = expected;
  }
  return value;
}

}  // namespace

KernelImpl parse_kernel_impl(std::string_view text, std::string_view what) {
  if (text == "hand") return KernelImpl::Hand;
  // "cudnn" was the setting's name before oneDNN joined cuDNN as a vendor library.
  if (text == "vendor" || text == "cudnn") return KernelImpl::Vendor;
  if (text == "auto") return KernelImpl::Auto;
  throw Error(std::string(what) + ": expected hand, vendor (or cudnn) or auto, got \"" + std::string(text) + "\"");
}

const char* kernel_impl_name(KernelImpl impl) {
  switch (impl) {
    case KernelImpl::Hand: return "hand";
    case KernelImpl::Vendor: return "vendor";
    case KernelImpl::Auto: return "auto";
  }
  return "?";
}

void set_kernel_impl(KernelImpl impl) { g_impl.store(static_cast<int>(impl)); }

KernelImpl kernel_impl() {
  return static_cast<KernelImpl>(read_once(g_impl, [] {
    const char* text = std::getenv("REDES_KERNEL_IMPL");
    if (text == nullptr || *text == '\0') return static_cast<int>(KernelImpl::Auto);
    return static_cast<int>(parse_kernel_impl(text, "REDES_KERNEL_IMPL"));
  }));
}

void set_deterministic(bool deterministic) { g_deterministic.store(deterministic ? 1 : 0); }

bool deterministic() {
  return read_once(g_deterministic, [] { return parse_flag("REDES_DETERMINISTIC") ? 1 : 0; }) != 0;
}

void set_allow_tf32(bool allow) { g_tf32.store(allow ? 1 : 0); }

bool allow_tf32() {
  return read_once(g_tf32, [] { return parse_flag("REDES_ALLOW_TF32") ? 1 : 0; }) != 0;
}

}  // namespace redes
