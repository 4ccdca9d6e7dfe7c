// Human-readable printing: tensor([[1.0000, 2.0000], ...], dtype=float32).
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "core/autograd.h"
#include "core/tensor_impl.h"

namespace redes {

namespace {

constexpr std::int64_t kSummariseAbove = 1000;  // elements
constexpr std::int64_t kEdgeItems = 3;

void print_element(std::ostringstream& out, double value, bool floating) {
  char text[32];
  if (!floating) {
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(value));
  } else if (std::isfinite(value) && value != 0.0 && (std::fabs(value) >= 1e5 || std::fabs(value) < 1e-4)) {
    std::snprintf(text, sizeof text, "%.4e", value);
  } else {
    std::snprintf(text, sizeof text, "%.4f", value);
  }
  out << text;
}

void print_dims(std::ostringstream& out, const double* data, const Shape& shape, const Strides& strides,
                std::size_t d, std::int64_t offset, bool floating, bool summarise, int indent) {
  if (d == shape.size()) {
    print_element(out, data[offset], floating);
    return;
  }
  out << '[';
  const std::int64_t size = shape[d];
  for (std::int64_t i = 0; i < size; ++i) {
    if (summarise && size > 2 * kEdgeItems && i == kEdgeItems) {
      out << "...";
      i = size - kEdgeItems - 1;
      out << (d + 1 == shape.size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
      continue;
    }
    print_dims(out, data, shape, strides, d + 1, offset + i * strides[d], floating, summarise, indent + 1);
    if (i + 1 < size) {
      out << (d + 1 == shape.size() ? ", " : ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
    }
  }
  out << ']';
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  NoGradGuard no_grad;
  const Tensor host = to(Device::cpu()).to(kFloat64).contiguous();
  std::ostringstream out;
  out << "tensor(";
  print_dims(out, static_cast<const double*>(host.data_ptr()), host.shape(), host.strides(), 0, 0,
             is_floating(dtype()), numel() > kSummariseAbove, 7);
  if (dim() > 0 && numel() > kSummariseAbove) out << ", shape=" << shape_str(shape());
  out << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) out << ", device=" << device().str();
  if (grad_fn()) {
    out << ", grad_fn=<" << grad_fn()->name() << '>';
  } else if (requires_grad()) {
    out << ", requires_grad=true";
  }
  out << ')';
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) { return out << tensor.str(); }

}  // namespace redes
