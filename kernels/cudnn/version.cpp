// The cuDNN library version, for `redes info` and bug reports.
#include <string>

#include "core/runtime.h"
#include "kernels/cudnn/api.h"

namespace redes {

std::string detail::cudnn_library_version() {
  const cudnn::Api* api = cudnn::loaded();
  if (api == nullptr) return "";
  // cudnnGetVersion() = major * 10000 + minor * 100 + patch since cuDNN 9.
  const std::size_t version = api->version;
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

}  // namespace redes
