#include "layers/dropout.h"

#include <sstream>

namespace redes::nn {

Dropout::Dropout(double p, Generator* generator) : p_(p), generator_(generator) {
  REDES_CHECK(p >= 0.0 && p <= 1.0, "Dropout: expected p in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& input) { return dropout(input, p_, is_training(), generator_); }

std::string Dropout::extra_repr() const {
  std::ostringstream out;
  out << "p=" << p_;
  return out.str();
}

}  // namespace redes::nn
