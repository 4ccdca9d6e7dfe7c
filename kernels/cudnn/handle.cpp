#include "kernels/cudnn/handle.h"

#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "kernels/backend_status.h"
#include "kernels/cudnn/api.h"
#include "kernels/cudnn/check.h"

namespace redes {

namespace {

std::mutex g_mutex;
// Handles live until the process exits: destroying them from a static
// destructor would race the CUDA runtime's own teardown.
std::map<std::pair<int, void*>, cudnnHandle_t>& handles() {
  static auto* table = new std::map<std::pair<int, void*>, cudnnHandle_t>();
  return *table;
}

// Loading libcudnn and one attempt at creating a handle decide whether cuDNN
// is usable: creating fails when a cuDNN sub-library cannot be loaded, the
// driver is too old or there is no GPU, and any of those lasts for the life
// of the process.
const std::string& probe() {
  static const std::string reason = []() -> std::string {
    if (cudnn::loaded() == nullptr) return cudnn::load_failure();
    const cudnn::Api& api = cudnn::api();
    cudnnHandle_t handle = nullptr;
    const cudnnStatus_t status = api.cudnnCreate(&handle);
    if (status != CUDNN_STATUS_SUCCESS) {
      char detail[512] = {};
      api.cudnnGetLastErrorString(detail, sizeof(detail));
      cudaGetLastError();  // cudnnCreate's failed CUDA calls must not reach the next launch check
      std::string text = std::string("cudnnCreate failed: ") + api.cudnnGetErrorString(status);
      if (detail[0] != '\0') text += std::string(" (") + detail + ")";
      return text;
    }
    api.cudnnDestroy(handle);
    return std::string();
  }();
  return reason;
}

}  // namespace

std::string cudnn_unusable_reason() { return probe(); }

namespace cudnn {

bool usable() { return probe().empty(); }

cudnnHandle_t handle(const ExecContext& ctx, const char* op) {
  std::lock_guard lock(g_mutex);
  const std::pair<int, void*> key{ctx.device.index, ctx.stream};
  auto found = handles().find(key);
  if (found != handles().end()) return found->second;
  cudnnHandle_t created = nullptr;
  REDES_CUDNN_CHECK(api().cudnnCreate(&created), op);
  const cudnnStatus_t status = api().cudnnSetStream(created, static_cast<cudaStream_t>(ctx.stream));
  if (status != CUDNN_STATUS_SUCCESS) api().cudnnDestroy(created);
  REDES_CUDNN_CHECK(status, op);
  handles().emplace(key, created);
  return created;
}

}  // namespace cudnn
}  // namespace redes
