#include "core/ops/dispatch.h"

#include <vector>

#include "core/allocator.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes::detail {

namespace {

// Scratch memory from the device's allocator, returned when the call ends.
class CallWorkspace final : public Workspace {
 public:
  explicit CallWorkspace(Device device) : device_(device) {}
  ~CallWorkspace() override {
    for (const Block& block : blocks_) allocator_for(device_).deallocate(block.ptr, block.bytes);
  }
  CallWorkspace(const CallWorkspace&) = delete;
  CallWorkspace& operator=(const CallWorkspace&) = delete;

  void* request(std::size_t bytes) override {
    void* ptr = allocator_for(device_).allocate(bytes);
    blocks_.push_back({ptr, bytes});
    return ptr;
  }

 private:
  struct Block {
    void* ptr;
    std::size_t bytes;
  };
  Device device_;
  std::vector<Block> blocks_;
};

}  // namespace

// Both read the tensor once, before the argument is made: every op builds its
// arguments here, and the argument's fields are then written in one go
// (rather than zeroed first and filled after calls the compiler cannot see
// through).
TensorArg kernel_arg(const Tensor& tensor, const char* op) {
  const Shape& sizes = tensor.shape();
  const Strides& strides = tensor.strides();
  REDES_CHECK(sizes.size() <= kMaxDims, op, ": tensors of at most ", kMaxDims, " dims are supported, got ",
              sizes.size(), " dims (shape ", shape_str(sizes), ")");
  void* const data = tensor.data_ptr();
  const DType dtype = tensor.dtype();
  const auto ndim = static_cast<int>(sizes.size());
  TensorArg arg;
  arg.data = data;
  arg.dtype = dtype;
  arg.ndim = ndim;
  for (int d = 0; d < kMaxDims; ++d) {
    arg.sizes[d] = d < ndim ? sizes[static_cast<std::size_t>(d)] : 0;
    arg.strides[d] = d < ndim ? strides[static_cast<std::size_t>(d)] : 0;
  }
  return arg;
}

TensorArg broadcast_arg(const Tensor& tensor, const Shape& shape, const char* op) {
  REDES_CHECK(static_cast<int>(shape.size()) <= kMaxDims, op, ": tensors of at most ", kMaxDims,
              " dims are supported, got shape ", shape_str(shape));
  const Shape& own = tensor.shape();
  const Strides& strides = tensor.strides();
  TensorArg arg;
  arg.data = tensor.data_ptr();
  arg.dtype = tensor.dtype();
  arg.ndim = static_cast<int>(shape.size());
  const std::size_t lead = shape.size() - own.size();
  for (std::size_t d = 0; d < shape.size(); ++d) {
    arg.sizes[d] = shape[d];
    if (d < lead) continue;
    const std::int64_t own_size = own[d - lead];
    REDES_CHECK(own_size == shape[d] || own_size == 1, op, ": cannot broadcast shape ", shape_str(own), " to ",
                shape_str(shape));
    arg.strides[d] = own_size == shape[d] ? strides[d - lead] : 0;
  }
  return arg;
}

namespace {

const KernelEntry& run_kernel_args(const char* op, const void* params, Device device, DType dtype,
                                   const TensorArg* args, int nargs) {
  CallWorkspace workspace(device);
  ExecContext context{device, current_stream(device), &workspace};
  const KernelEntry& entry = KernelRegistry::instance().select(op, device, dtype, params, args, nargs, &context);
  entry.run(params, args, nargs, context);
  return entry;
}

}  // namespace

void run_kernel(const char* op, const void* params, Device device, DType dtype,
                std::initializer_list<TensorArg> args) {
  run_kernel_args(op, params, device, dtype, args.begin(), static_cast<int>(args.size()));
}

std::string run_kernel(const char* op, const void* params, Device device, DType dtype,
                       const std::vector<TensorArg>& args) {
  return run_kernel_args(op, params, device, dtype, args.data(), static_cast<int>(args.size())).name;
}

void run_kernel_named(const std::string& name, const char* op, const void* params, Device device, DType dtype,
                      const std::vector<TensorArg>& args) {
  for (const KernelEntry* entry : KernelRegistry::instance().candidates(op, device.type, dtype)) {
    if (entry->name != name) continue;
    CallWorkspace workspace(device);
    const ExecContext context{device, current_stream(device), &workspace};
    entry->run(params, args.data(), static_cast<int>(args.size()), context);
    return;
  }
  fail(op, ": no implementation \"", name, "\" for ", device.str(), " ", dtype_name(dtype));
}

Device common_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* tensor : tensors) {
    if (tensor == nullptr || !tensor->defined()) continue;
    if (first == nullptr) {
      first = tensor;
      continue;
    }
    REDES_CHECK(tensor->device() == first->device(), op,
                ": expected all tensors on the same device, got ", first->device().str(), " and ",
                tensor->device().str(), " (move one with .to(device))");
  }
  REDES_CHECK(first != nullptr, op, ": expected at least one defined tensor");
  return first->device();
}

void check_defined(const Tensor& tensor, const char* op, const char* what) {
  REDES_CHECK(tensor.defined(), op, ": ", what, " is an undefined tensor (default-constructed Tensor)");
}

}  // namespace redes::detail

