// Tensor: an n-dimensional array on a device, with value semantics over
// shared storage (copying a Tensor copies a handle; views share memory).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/export.h"
#include "core/shape.h"

namespace redes {

class TensorImpl;
class Node;
class Tensor;
namespace indexing {
class TensorIndex;  // core/indexing.h
}
// Sees a gradient during backward; returns a replacement, or an undefined
// tensor to keep it.
using GradHook = std::function<Tensor(const Tensor& grad)>;
using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;

struct TensorOptions {
  // Unset: float32 for the factories of floating values (zeros, ones, full,
  // tensor, a vector of floats or doubles), the values' own type for integer
  // values (from_vector of int64 gives int64, arange gives int64), as in PyTorch.
  std::optional<DType> dtype = std::nullopt;
  Device device = Device::cpu();
  bool requires_grad = false;
  DType dtype_or(DType fallback) const { return dtype.value_or(fallback); }
};

class REDES_API Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  std::int64_t size(std::int64_t dim) const;
  const Strides& strides() const;
  std::int64_t stride(std::int64_t dim) const;
  std::int64_t dim() const;
  std::int64_t numel() const;
  DType dtype() const;
  Device device() const;
  std::int64_t storage_offset() const;  // in elements
  bool is_contiguous() const;
  // Address of element 0 (storage data + offset). Host-readable only on the CPU.
  void* data_ptr() const;
  template <class T>
  T* data() const {
    check_element_type(dtype_of_v<T>);
    return static_cast<T*>(data_ptr());
  }

  // Views: share storage with *this, record a backward rule when needed.
  Tensor view(const Shape& shape) const;  // needs compatible strides
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  Tensor flatten() const;
  // Dims start_dim..end_dim merged into one (negative dims count from the end).
  Tensor flatten(std::int64_t start_dim, std::int64_t end_dim = -1) const;
  Tensor permute(const std::vector<std::int64_t>& dims) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor contiguous() const;  // *this when already contiguous
  // libtorch's indexing, x.index({Slice(1, None), 2}) for x[1:, 2]
  // (core/indexing.h): a view unless an index is a tensor.
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  // x.index(indices) = value, in place (value broadcasts); integers, slices,
  // None and "..." only.
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value);
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, double value);

  // Copies.
  Tensor clone() const;
  // A copy on `device` (*this when already there). non_blocking matters only
  // for a CPU tensor in pinned memory going to a CUDA device: the copy is
  // queued on the device's current stream and to() returns at once (later
  // work on that stream sees the data; the host must not write the source
  // until the stream has passed the copy). Every other copy is synchronous.
  Tensor to(Device device, bool non_blocking = false) const;
  Tensor to(DType dtype) const;
  // A contiguous copy of this CPU tensor in page-locked (pinned) host
  // memory, or *this when already pinned. Pinned memory is a CUDA resource:
  // without a usable CUDA device this throws a redes::Error saying why.
  Tensor pin_memory() const;
  // True for CPU tensors whose storage is page-locked (from pin_memory).
  bool is_pinned() const;
  // Single element as double (any dtype); throws unless numel() == 1.
  double item() const;
  template <class T>
  std::vector<T> to_vector() const;

  // Autograd.
  bool requires_grad() const;
  // Marks a leaf as needing a gradient; throws on a non-leaf or integer tensor.
  Tensor& requires_grad_(bool enabled = true);
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward pass reached this leaf
  void set_grad(const Tensor& grad);
  void zero_grad();  // drops the stored gradient
  std::shared_ptr<Node> grad_fn() const;
  // Called with this tensor's gradient whenever a backward pass computes it
  // (for a leaf: before it is accumulated into grad()); its defined result
  // replaces the gradient, as torch's register_hook.
  void register_hook(GradHook hook) const;
  // A leaf only: called with the leaf after a backward pass has added a
  // gradient into its grad() (torch's register_post_accumulate_grad_hook),
  // e.g. to start sending it to other processes while backward goes on.
  // Returns a handle for remove_post_accumulate_grad_hook.
  std::uint64_t register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const;
  void remove_post_accumulate_grad_hook(std::uint64_t handle) const;
  // Keeps a non-leaf tensor's gradient in grad() (accumulated over backward
  // passes, as a leaf's is); a no-op for leaves.
  void retain_grad() const;
  // Backward from a scalar (or with an explicit gradient of the same shape).
  // `create_graph`: the gradients themselves get history (double backward);
  // the graph is then kept as with retain_graph. A leaf's grad() then holds
  // a graph that leads back to the leaf: call zero_grad() when done with it,
  // or the two keep each other alive (as in PyTorch).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  Tensor detach() const;  // same storage, no history
  std::uint64_t version() const;  // the storage's in-place version counter

  // In-place updates. Refused on tensors that take part in autograd while
  // grad mode is on (use the out-of-place form, or a NoGradGuard).
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(const Tensor& other);
  Tensor& fill_(double value);
  Tensor& zero_();
  Tensor& copy_(const Tensor& source);  // broadcasts, converts dtype, crosses devices

  // Common ops as methods (the free functions in core/ops.h are the same).
  Tensor sum() const;
  Tensor sum(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  // As redes::var and redes::std; `t.std({1})` reads as in libtorch, where
  // an unqualified std(t, {1}) under `using namespace redes` is ambiguous
  // with namespace std (a compile error, not a silent trap).
  Tensor var(const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1, bool keepdim = false) const;
  Tensor std(const std::vector<std::int64_t>& dims = {}, std::int64_t correction = 1, bool keepdim = false) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor relu() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor clamp(std::optional<double> low, std::optional<double> high) const;
  Tensor max() const;
  Tensor min() const;
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;
  Tensor matmul(const Tensor& other) const;

  std::string str() const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void check_element_type(DType requested) const;
  std::shared_ptr<TensorImpl> impl_;
};

REDES_API std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// In-place arithmetic, as a.add_(b) and friends: the result must fit a's
// dtype (an integer tensor cannot take a fractional result in place).
REDES_API Tensor& operator+=(Tensor& a, const Tensor& b);
REDES_API Tensor& operator-=(Tensor& a, const Tensor& b);
REDES_API Tensor& operator*=(Tensor& a, const Tensor& b);
REDES_API Tensor& operator/=(Tensor& a, const Tensor& b);
// (With a number: core/ops.h.)

// Factories.
REDES_API Tensor empty(const Shape& shape, const TensorOptions& options = {});
REDES_API Tensor zeros(const Shape& shape, const TensorOptions& options = {});
REDES_API Tensor ones(const Shape& shape, const TensorOptions& options = {});
REDES_API Tensor full(const Shape& shape, double value, const TensorOptions& options = {});
REDES_API Tensor scalar_tensor(double value, const TensorOptions& options = {});
// 0, 1, ..., n-1
REDES_API Tensor arange(std::int64_t n, const TensorOptions& options = {});
// Copies host values; values.size() must equal the shape's element count.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, const TensorOptions& options = {});
REDES_API Tensor tensor(std::initializer_list<double> values, const TensorOptions& options = {});
REDES_API Tensor zeros_like(const Tensor& other);
REDES_API Tensor ones_like(const Tensor& other);

// Grad mode: while a NoGradGuard lives on this thread, ops record no history.
REDES_API bool is_grad_enabled();
class REDES_API NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Sets grad mode for a scope either way (e.g. on inside a NoGradGuard).
class REDES_API GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace redes

namespace redes {
extern template REDES_API Tensor from_vector<float>(const std::vector<float>&, const Shape&, const TensorOptions&);
extern template REDES_API Tensor from_vector<double>(const std::vector<double>&, const Shape&, const TensorOptions&);
extern template REDES_API Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&, const TensorOptions&);
extern template REDES_API Tensor from_vector<std::int32_t>(const std::vector<std::int32_t>&, const Shape&, const TensorOptions&);
extern template REDES_API Tensor from_vector<std::uint8_t>(const std::vector<std::uint8_t>&, const Shape&, const TensorOptions&);
extern template REDES_API Tensor from_vector<BFloat16>(const std::vector<BFloat16>&, const Shape&, const TensorOptions&);
extern template REDES_API Tensor from_vector<Float16>(const std::vector<Float16>&, const Shape&, const TensorOptions&);
extern template REDES_API std::vector<float> Tensor::to_vector<float>() const;
extern template REDES_API std::vector<double> Tensor::to_vector<double>() const;
extern template REDES_API std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
extern template REDES_API std::vector<std::int32_t> Tensor::to_vector<std::int32_t>() const;
extern template REDES_API std::vector<std::uint8_t> Tensor::to_vector<std::uint8_t>() const;
extern template REDES_API std::vector<BFloat16> Tensor::to_vector<BFloat16>() const;
extern template REDES_API std::vector<Float16> Tensor::to_vector<Float16>() const;
}  // namespace redes
