// Tensor factories.
#include <cstring>
#include <numeric>

#include "core/ops.h"
#include "core/ops/dispatch.h"
#include "core/runtime.h"
#include "core/tensor_impl.h"
#include "kernels/params.h"

namespace redes {

namespace {
void apply_requires_grad(Tensor& tensor, const TensorOptions& options) {
  if (options.requires_grad) tensor.requires_grad_(true);
}
}  // namespace

Tensor empty(const Shape& shape, const TensorOptions& options) {
  const DType dtype = options.dtype_or(kFloat32);
  detail::require_device(options.device, "empty");
  const std::int64_t count = numel_of(shape);
  const std::size_t bytes = static_cast<std::size_t>(count) * dtype_size(dtype);
  auto storage = std::make_shared<Storage>(bytes, options.device);
  Tensor tensor(std::make_shared<TensorImpl>(std::move(storage), shape, contiguous_strides(shape), 0, dtype));
  apply_requires_grad(tensor, options);
  return tensor;
}

Tensor full(const Shape& shape, double value, const TensorOptions& options) {
  TensorOptions plain = options;
  plain.requires_grad = false;
  Tensor tensor = empty(shape, plain);
  detail::launch(FillParams{value}, tensor.device(), tensor.dtype(), {detail::kernel_arg(tensor, "full")});
  apply_requires_grad(tensor, options);
  return tensor;
}

Tensor zeros(const Shape& shape, const TensorOptions& options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, const TensorOptions& options) { return full(shape, 1.0, options); }
Tensor scalar_tensor(double value, const TensorOptions& options) { return full({}, value, options); }
Tensor zeros_like(const Tensor& other) { return zeros(other.shape(), {other.dtype(), other.device()}); }
Tensor ones_like(const Tensor& other) { return ones(other.shape(), {other.dtype(), other.device()}); }

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, const TensorOptions& options) {
  REDES_CHECK(static_cast<std::int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
              " values cannot fill shape ", shape_str(shape), " (", numel_of(shape), " elements)");
  Tensor host = empty(shape, {dtype_of_v<T>, Device::cpu()});
  if (!values.empty()) std::memcpy(host.data_ptr(), values.data(), values.size() * sizeof(T));
  // Integer and 16-bit values keep their type unless told otherwise; float
  // and double values default to float32.
  const DType natural = std::is_floating_point_v<T> ? kFloat32 : dtype_of_v<T>;
  Tensor tensor = host.to(options.dtype_or(natural)).to(options.device);
  apply_requires_grad(tensor, options);
  return tensor;
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&, const TensorOptions&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, const TensorOptions&);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, const Shape&, const TensorOptions&);
template Tensor from_vector<std::int32_t>(const std::vector<std::int32_t>&, const Shape&, const TensorOptions&);
template Tensor from_vector<std::uint8_t>(const std::vector<std::uint8_t>&, const Shape&, const TensorOptions&);
template Tensor from_vector<BFloat16>(const std::vector<BFloat16>&, const Shape&, const TensorOptions&);
template Tensor from_vector<Float16>(const std::vector<Float16>&, const Shape&, const TensorOptions&);

Tensor tensor(std::initializer_list<double> values, const TensorOptions& options) {
  return from_vector(std::vector<double>(values), {static_cast<std::int64_t>(values.size())}, options);
}

Tensor arange(std::int64_t n, const TensorOptions& options) {
  REDES_CHECK(n >= 0, "arange: expected n >= 0, got ", n);
  std::vector<std::int64_t> values(static_cast<std::size_t>(n));
  std::iota(values.begin(), values.end(), std::int64_t{0});
  return from_vector(values, {n}, options);
}

}  // namespace redes
