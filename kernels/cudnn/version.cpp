// The loaded cuDNN library's version and file, for `redes info` and bug reports.
#include <string>

#include "core/runtime.h"
#include "kernels/cudnn/api.h"

namespace redes {

std::string detail::cudnn_library_version() {
  const cudnn::Api* api = cudnn::loaded();
  return api == nullptr ? "" : cudnn::version_text(api->version);
}

std::string detail::cudnn_library_path() {
  const cudnn::Api* api = cudnn::loaded();
  return api == nullptr ? "" : api->path;
}

}  // namespace redes
