// How automatic kernel selection (kernels/select.h) runs candidates on CUDA
// devices: CUDA events around the kernel on the call's stream, and a
// synchronous copy of an output back to the host for the agreement check.
#include <memory>
#include <string>
#include <vector>

#include "core/build_info.h"
#include "core/cuda/check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/registry.h"

namespace redes {
namespace {

class CudaTuningDevice final : public TuningDevice {
 public:
  double run_timed(const KernelEntry& entry, const KernelCall& call, const ExecContext& ctx) override {
    const char* op = "automatic kernel selection";
    cudaEvent_t start = nullptr, stop = nullptr;
    REDES_CUDA_CHECK(cudaEventCreate(&start), op);
    const auto destroy = [&] {
      if (start != nullptr) cudaEventDestroy(start);
      if (stop != nullptr) cudaEventDestroy(stop);
    };
    try {
      REDES_CUDA_CHECK(cudaEventCreate(&stop), op);
      REDES_CUDA_CHECK(cudaEventRecord(start, cuda::stream_of(ctx)), op);
      entry.run(call.params, call.args, call.nargs, ctx);
      REDES_CUDA_CHECK(cudaEventRecord(stop, cuda::stream_of(ctx)), op);
      REDES_CUDA_CHECK(cudaEventSynchronize(stop), op);
      float ms = 0;
      REDES_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop), op);
      destroy();
      return ms;
    } catch (...) {
      destroy();
      throw;
    }
  }

  // arg: a contiguous float32 or float64 tensor on the device.
  std::vector<double> read(const TensorArg& arg) override {
    const char* op = "automatic kernel selection";
    const auto count = static_cast<std::size_t>(arg.numel());
    std::vector<double> values(count);
    if (arg.dtype == DType::Float64) {
      REDES_CUDA_CHECK(cudaMemcpy(values.data(), arg.data, count * sizeof(double), cudaMemcpyDeviceToHost), op);
      return values;
    }
    REDES_CHECK(arg.dtype == DType::Float32, op, ": can compare float32 and float64 outputs, got ",
                dtype_name(arg.dtype));
    std::vector<float> floats(count);
    REDES_CUDA_CHECK(cudaMemcpy(floats.data(), arg.data, count * sizeof(float), cudaMemcpyDeviceToHost), op);
    for (std::size_t i = 0; i < count; ++i) values[i] = floats[i];
    return values;
  }

  // GPU model, driver, CUDA runtime, cuDNN and redes versions.
  std::string signature(const ExecContext& ctx) override {
    const char* op = "automatic kernel selection";
    cudaDeviceProp properties{};
    REDES_CUDA_CHECK(cudaGetDeviceProperties(&properties, ctx.device.index), op);
    int driver = 0, runtime = 0;
    REDES_CUDA_CHECK(cudaDriverGetVersion(&driver), op);
    REDES_CUDA_CHECK(cudaRuntimeGetVersion(&runtime), op);
    const BuildInfo build = build_info();
    return std::string(properties.name) + " sm_" + std::to_string(properties.major) +
           std::to_string(properties.minor) + " driver " + std::to_string(driver) + " runtime " +
           std::to_string(runtime) + " cuDNN " + (build.cudnn_version.empty() ? "none" : build.cudnn_version) +
           " redes " + build.version;
  }
};

}  // namespace

void register_cuda_tuning(KernelRegistry& registry) {
  registry.set_tuning_device(DeviceType::CUDA, std::make_unique<CudaTuningDevice>());
}

}  // namespace redes
