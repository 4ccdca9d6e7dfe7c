// Tensor basics: accessors, copies across devices and dtypes, autograd
// entry points and in-place updates.
#include "core/tensor.h"

#include <atomic>
#include <cstring>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/runtime.h"
#include "core/tensor_impl.h"
#include "kernels/params.h"

namespace redes {

Tensor::Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  REDES_CHECK(impl != nullptr, "tensor: this Tensor is undefined (default-constructed); create one "
              "with a factory such as zeros() or from_vector()");
  return *impl;
}
}  // namespace

const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Strides& Tensor::strides() const { return checked(impl_).strides; }
std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(shape().size()); }
std::int64_t Tensor::size(std::int64_t d) const { return shape()[static_cast<std::size_t>(wrap_dim(d, dim(), "size"))]; }
std::int64_t Tensor::stride(std::int64_t d) const {
  return strides()[static_cast<std::size_t>(wrap_dim(d, dim(), "stride"))];
}
std::int64_t Tensor::numel() const {
  std::int64_t count = 1;
  for (std::int64_t s : shape()) count *= s;
  return count;
}
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device(); }
std::int64_t Tensor::storage_offset() const { return checked(impl_).offset; }

bool Tensor::is_contiguous() const {
  const TensorImpl& impl = checked(impl_);
  std::int64_t expected = 1;
  for (std::size_t d = impl.shape.size(); d-- > 0;) {
    if (impl.shape[d] != 1 && impl.strides[d] != expected) return false;
    expected *= impl.shape[d];
  }
  return true;
}

void* Tensor::data_ptr() const {
  const TensorImpl& impl = checked(impl_);
  return static_cast<char*>(impl.storage->data()) +
         impl.offset * static_cast<std::int64_t>(dtype_size(impl.dtype));
}

void Tensor::check_element_type(DType requested) const {
  REDES_CHECK(dtype() == requested, "data<T>(): the tensor holds ", dtype_name(dtype()),
              " elements, but ", dtype_name(requested), " was requested");
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), {dtype(), device()});
  detail::launch(CopyParams{}, device(), dtype(), {detail::kernel_arg(out, "clone"), detail::kernel_arg(*this, "clone")});
  if (needs_grad({this})) {
    record_op("clone", out, {this}, {}, [](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{g};
    });
  }
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), {target, device()});
  detail::launch(CopyParams{}, device(), target, {detail::kernel_arg(out, "to"), detail::kernel_arg(*this, "to")});
  if (is_floating(target) && needs_grad({this})) {
    const DType source = dtype();
    record_op("to_dtype", out, {this}, {}, [source](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{g.to(source)};
    });
  }
  return out;
}

Tensor Tensor::to(Device target, bool non_blocking) const {
  if (target == device()) return *this;
  detail::require_device(target, "Tensor::to");
  const Tensor source = contiguous();
  Tensor out = empty(shape(), {dtype(), target});
  const std::size_t bytes = static_cast<std::size_t>(numel()) * dtype_size(dtype());
  // Only page-locked memory can be read by the device while the host goes
  // on; from pageable memory the driver stages the copy synchronously anyway.
  if (non_blocking && target.is_cuda() && source.is_pinned()) {
    detail::copy_to_device_async(out.data_ptr(), target, source.data_ptr(), bytes);
  } else {
    detail::copy_bytes(out.data_ptr(), target, source.data_ptr(), source.device(), bytes);
  }
  if (needs_grad({this})) {
    const Device origin = device();
    record_op("to_device", out, {this}, {}, [origin](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{g.to(origin)};
    });
  }
  return out;
}

bool Tensor::is_pinned() const { return checked(impl_).storage->pinned(); }

Tensor Tensor::pin_memory() const {
  REDES_CHECK(device().is_cpu(), "pin_memory: expected a CPU tensor, got one on ", device().str());
  if (is_pinned()) return *this;
  Allocator& pinned = detail::pinned_allocator();
  const Tensor source = contiguous();
  const std::size_t bytes = static_cast<std::size_t>(numel()) * dtype_size(dtype());
  auto storage = std::make_shared<Storage>(bytes, Device::cpu(), pinned, true);
  if (bytes != 0) std::memcpy(storage->data(), source.data_ptr(), bytes);
  Tensor out(std::make_shared<TensorImpl>(std::move(storage), shape(), contiguous_strides(shape()), 0, dtype()));
  if (needs_grad({this})) {
    record_op("pin_memory", out, {this}, {}, [](const Tensor& g, const std::vector<Tensor>&) {
      return std::vector<Tensor>{g};
    });
  }
  return out;
}

double Tensor::item() const {
  REDES_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", shape_str(shape()));
  NoGradGuard no_grad;
  const Tensor host = to(Device::cpu()).to(kFloat64);
  return *static_cast<const double*>(host.data_ptr());
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  check_element_type(dtype_of_v<T>);
  NoGradGuard no_grad;
  const Tensor host = to(Device::cpu()).contiguous();
  std::vector<T> values(static_cast<std::size_t>(numel()));
  if (!values.empty()) std::memcpy(values.data(), host.data_ptr(), values.size() * sizeof(T));
  return values;
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;
template std::vector<std::int32_t> Tensor::to_vector<std::int32_t>() const;
template std::vector<std::uint8_t> Tensor::to_vector<std::uint8_t>() const;
template std::vector<BFloat16> Tensor::to_vector<BFloat16>() const;
template std::vector<Float16> Tensor::to_vector<Float16>() const;

// ---- autograd ----

bool Tensor::requires_grad() const {
  const AutogradMeta* meta = checked(impl_).autograd_if_any();
  return meta != nullptr && meta->requires_grad;
}

bool Tensor::is_leaf() const {
  const AutogradMeta* meta = checked(impl_).autograd_if_any();
  return meta == nullptr || !meta->grad_fn;
}

Tensor& Tensor::requires_grad_(bool enabled) {
  REDES_CHECK(is_leaf(), "requires_grad_: only leaf tensors can be marked; this one is the result of ",
              grad_fn()->name(), " (use detach() to make a leaf)");
  REDES_CHECK(!enabled || is_floating(dtype()), "requires_grad_: only floating-point tensors can "
              "require gradients, this one is ", dtype_name(dtype()));
  impl_->autograd_meta().requires_grad = enabled;
  return *this;
}

Tensor Tensor::grad() const {
  const AutogradMeta* meta = checked(impl_).autograd_if_any();
  return meta != nullptr && meta->grad ? Tensor(meta->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined()) {
    REDES_CHECK(grad.shape() == shape() && grad.dtype() == dtype() && grad.device() == device(),
                "set_grad: expected a gradient of shape ", shape_str(shape()), ", ", dtype_name(dtype()),
                " on ", device().str(), ", got ", shape_str(grad.shape()), ", ", dtype_name(grad.dtype()),
                " on ", grad.device().str());
  }
  impl_->autograd_meta().grad = grad.impl_ptr();
}

void Tensor::zero_grad() {
  if (impl_->autograd) impl_->autograd->grad.reset();
}

void Tensor::register_hook(GradHook hook) const {
  REDES_CHECK(requires_grad(), "register_hook: the tensor does not require grad, so no gradient will reach it");
  REDES_CHECK(hook != nullptr, "register_hook: empty hook");
  AutogradMeta& meta = impl_->autograd_meta();
  if (meta.grad_fn) {
    meta.grad_fn->pre_hooks.emplace_back(meta.output_nr, std::move(hook));
  } else {
    meta.hooks.push_back(std::move(hook));
  }
}

std::uint64_t Tensor::register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const {
  REDES_CHECK(requires_grad() && is_leaf(), "register_post_accumulate_grad_hook: expected a leaf that requires grad",
              requires_grad() ? ", got a tensor computed by an op" : ", got one that does not require grad");
  REDES_CHECK(hook != nullptr, "register_post_accumulate_grad_hook: empty hook");
  static std::atomic<std::uint64_t> next_handle{1};
  const std::uint64_t handle = next_handle.fetch_add(1);
  impl_->autograd_meta().post_accumulate_hooks.emplace_back(handle, std::move(hook));
  return handle;
}

void Tensor::remove_post_accumulate_grad_hook(std::uint64_t handle) const {
  if (!impl_->autograd) return;
  auto& hooks = impl_->autograd->post_accumulate_hooks;
  std::erase_if(hooks, [&](const auto& entry) { return entry.first == handle; });
}

void Tensor::retain_grad() const {
  REDES_CHECK(requires_grad(), "retain_grad: the tensor does not require grad, so no gradient will reach it");
  AutogradMeta& meta = impl_->autograd_meta();
  if (!meta.grad_fn) return;  // leaves keep their gradient anyway
  for (const auto& [output, tensor] : meta.grad_fn->retained) {
    if (output == meta.output_nr && tensor.lock() == impl_) return;
  }
  meta.grad_fn->retained.emplace_back(meta.output_nr, impl_);
}

std::shared_ptr<Node> Tensor::grad_fn() const {
  const AutogradMeta* meta = checked(impl_).autograd_if_any();
  return meta != nullptr ? meta->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  run_backward({this, 1}, {&gradient, 1}, retain_graph || create_graph, create_graph);
}

Tensor Tensor::detach() const {
  const TensorImpl& impl = checked(impl_);
  return make_alias(*this, impl.shape, impl.strides, impl.offset);
}

std::uint64_t Tensor::version() const { return checked(impl_).storage->version(); }

// ---- in-place updates ----

namespace {

void check_inplace(const Tensor& self, const Tensor* other, const char* op) {
  if (is_grad_enabled()) {
    REDES_CHECK(!self.requires_grad(), op, ": cannot modify in place a tensor that requires grad while "
                "grad mode is on (for a parameter update, wrap it in NoGradGuard; otherwise use the "
                "out-of-place op)");
    REDES_CHECK(other == nullptr || !other->requires_grad(), op, ": the operand requires grad, but an "
                "in-place update records no history; use the out-of-place op");
  }
  for (std::size_t d = 0; d < self.shape().size(); ++d) {
    REDES_CHECK(self.shape()[d] <= 1 || self.strides()[d] != 0, op, ": cannot write into an expanded "
                "tensor (dim ", d, " has stride 0, so several elements share memory); call "
                "contiguous() first");
  }
}

void binary_inplace(Tensor& self, const Tensor& other, BinaryKind kind, double alpha, const char* op) {
  detail::check_defined(other, op, "the operand");
  check_inplace(self, &other, op);
  detail::common_device(op, {&self, &other});
  // As PyTorch: the result may narrow within its category (float64 into
  // float32) but not fall to a lower one (a float result into an integer
  // tensor would be truncated silently).
  DType result = result_type(self, other);
  if (kind == BinaryKind::Div && !is_floating(result)) result = kFloat32;
  REDES_CHECK(can_cast(result, self.dtype()), op, ": the result is ", dtype_name(result),
              ", which cannot be stored in place in a tensor of ", dtype_name(self.dtype()), "; use the out-of-place op");
  const Tensor operand = other.to(self.dtype());
  const TensorArg out = detail::kernel_arg(self, op);
  detail::launch(BinaryParams{kind, alpha}, self.device(), self.dtype(),
                 {out, out, detail::broadcast_arg(operand, self.shape(), op)});
  self.impl()->storage->bump_version();
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  binary_inplace(*this, other, BinaryKind::Add, alpha, "add_");
  return *this;
}

Tensor& Tensor::sub_(const Tensor& other, double alpha) {
  binary_inplace(*this, other, BinaryKind::Sub, alpha, "sub_");
  return *this;
}

Tensor& Tensor::div_(const Tensor& other) {
  binary_inplace(*this, other, BinaryKind::Div, 1.0, "div_");
  return *this;
}

Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, const Tensor& b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, const Tensor& b) { return a.div_(b); }

Tensor& Tensor::mul_(const Tensor& other) {
  binary_inplace(*this, other, BinaryKind::Mul, 1.0, "mul_");
  return *this;
}

Tensor& Tensor::mul_(double value) {
  if (!is_floating(dtype())) return mul_(scalar_like(value, *this));
  // The number goes to the kernel as a parameter, as in mul_scalar: a 16-bit
  // tensor is scaled by its float32 value, not by the number rounded to 16 bits.
  check_inplace(*this, nullptr, "mul_");
  BinaryParams params{BinaryKind::Mul, 1.0};
  params.scalar_b = true;
  params.b = value;
  const TensorArg out = detail::kernel_arg(*this, "mul_");
  detail::launch(params, device(), dtype(), {out, out});
  impl_->storage->bump_version();
  return *this;
}

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, nullptr, "fill_");
  detail::launch(FillParams{value}, device(), dtype(), {detail::kernel_arg(*this, "fill_")});
  impl_->storage->bump_version();
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& source) {
  detail::check_defined(source, "copy_", "the source");
  check_inplace(*this, &source, "copy_");
  const Tensor local = source.to(device());
  detail::launch(CopyParams{}, device(), dtype(),
                 {detail::kernel_arg(*this, "copy_"), detail::broadcast_arg(local, shape(), "copy_")});
  impl_->storage->bump_version();
  return *this;
}

// ---- method forms of common ops ----

Tensor Tensor::sum() const { return redes::sum(*this); }
Tensor Tensor::sum(const std::vector<std::int64_t>& dims, bool keepdim) const { return redes::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return redes::mean(*this); }
Tensor Tensor::mean(const std::vector<std::int64_t>& dims, bool keepdim) const { return redes::mean(*this, dims, keepdim); }
Tensor Tensor::var(const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) const {
  return redes::var(*this, dims, correction, keepdim);
}
Tensor Tensor::std(const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) const {
  return redes::std(*this, dims, correction, keepdim);
}
Tensor Tensor::exp() const { return redes::exp(*this); }
Tensor Tensor::log() const { return redes::log(*this); }
Tensor Tensor::relu() const { return redes::relu(*this); }
Tensor Tensor::sqrt() const { return redes::sqrt(*this); }
Tensor Tensor::abs() const { return redes::abs(*this); }
Tensor Tensor::neg() const { return redes::neg(*this); }
Tensor Tensor::sigmoid() const { return redes::sigmoid(*this); }
Tensor Tensor::tanh() const { return redes::tanh(*this); }
Tensor Tensor::pow(double exponent) const { return redes::pow(*this, exponent); }
Tensor Tensor::pow(const Tensor& exponent) const { return redes::pow(*this, exponent); }
Tensor Tensor::clamp(std::optional<double> low, std::optional<double> high) const {
  return redes::clamp(*this, low, high);
}
Tensor Tensor::max() const { return redes::max(*this); }
Tensor Tensor::min() const { return redes::min(*this); }
Tensor Tensor::argmax(std::int64_t dim, bool keepdim) const { return redes::argmax(*this, dim, keepdim); }
Tensor Tensor::softmax(std::int64_t dim) const { return redes::softmax(*this, dim); }
Tensor Tensor::log_softmax(std::int64_t dim) const { return redes::log_softmax(*this, dim); }
Tensor Tensor::matmul(const Tensor& other) const { return redes::matmul(*this, other); }

}  // namespace redes
