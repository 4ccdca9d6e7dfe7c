// Loads libcudnn.so.9 with dlopen and resolves every entry point api.h lists.
// A library that cannot be loaded, is not cuDNN 9, or lacks an entry point
// (an older 9.x) is refused as a whole, with the reason, so no kernel ever
// finds half a cuDNN.
#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "kernels/backend_status.h"
#include "kernels/cudnn/api.h"

namespace redes {
namespace {

struct Library {
  cudnn::Api api;
  std::string failure;     // empty when api is complete
  void* handle = nullptr;  // dlopen's, when api is complete
};

std::string last_dl_error() {
  const char* text = dlerror();
  return text != nullptr ? text : "no detail from the dynamic loader";
}

// Loads `path` (a file or a name the dynamic loader searches for); the
// library stays loaded only when it passes.
Library load(const std::string& path) {
  Library library;
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    library.failure = "could not load " + path + ": " + last_dl_error();
    return library;
  }
  const auto get_version = reinterpret_cast<decltype(&::cudnnGetVersion)>(dlsym(handle, "cudnnGetVersion"));
  if (get_version == nullptr) {
    library.failure = path + " is not a cuDNN library (it has no cudnnGetVersion)";
  } else if (library.api.version = get_version(); library.api.version / 10000 != CUDNN_MAJOR) {
    library.failure = path + " is cuDNN " + cudnn::version_text(library.api.version) + "; this build needs cuDNN " +
                      std::to_string(CUDNN_MAJOR) + " (it was built against " + cudnn::version_text(CUDNN_VERSION) +
                      ")";
  } else {
#define REDES_CUDNN_RESOLVE(name)                                                                    \
  if (library.failure.empty()) {                                                                     \
    library.api.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name));                    \
    if (library.api.name == nullptr) {                                                               \
      library.failure = path + " (cuDNN " + cudnn::version_text(library.api.version) +               \
                        ") lacks " #name ", which redes calls; this build was made against cuDNN " + \
                        cudnn::version_text(CUDNN_VERSION);                                          \
    }                                                                                                \
  }
    REDES_CUDNN_ENTRY_POINTS(REDES_CUDNN_RESOLVE)
#undef REDES_CUDNN_RESOLVE
  }
  if (library.failure.empty()) {
    library.handle = handle;
    // Where the search found it (`path` may be a bare name).
    link_map* map = nullptr;
    library.api.path = dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr ? map->l_name : path;
  } else {
    dlclose(handle);
  }
  return library;
}

const std::string kSoname = "libcudnn.so." + std::to_string(CUDNN_MAJOR);

// The environment's choice is taken as given; otherwise the loader's search
// first (LD_LIBRARY_PATH, libredes' RUNPATH, ld.so.cache), then the directory
// CMake found cuDNN in, for a build tree on a machine whose cuDNN is not in
// the loader's search path.
Library load_for_process() {
  if (const char* chosen = std::getenv("REDES_CUDNN_LIBRARY"); chosen != nullptr && *chosen != '\0') {
    Library library = load(chosen);
    if (!library.failure.empty()) library.failure += " (from REDES_CUDNN_LIBRARY)";
    return library;
  }
  Library library = load(kSoname);
  if (library.failure.empty()) return library;
  const std::string build_copy = std::string(REDES_CUDNN_LIBRARY_DIR) + "/" + kSoname;
  Library fallback = load(build_copy);
  if (fallback.failure.empty()) return fallback;
  library.failure += "; and " + fallback.failure;
  return library;
}

const Library& process_library() {
  static const Library library = load_for_process();
  return library;
}

}  // namespace

std::string cudnn_library_problem(const std::string& path) {
  const Library library = load(path);
  // The process's own cuDNN, if it is this file, stays loaded: dlopen counts references.
  if (library.handle != nullptr) dlclose(library.handle);
  return library.failure;
}

namespace cudnn {

const Api* loaded() {
  const Library& library = process_library();
  return library.failure.empty() ? &library.api : nullptr;
}

const std::string& load_failure() { return process_library().failure; }

std::string version_text(std::size_t version) {
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

const Api& api() {
  const Api* entry_points = loaded();
  if (entry_points == nullptr) [[unlikely]] {
    // supports() asks usable() first, so reaching this is a bug in a caller.
    detail::fail("cuDNN was called without being loaded: ", load_failure());
  }
  return *entry_points;
}

}  // namespace cudnn
}  // namespace redes
