// Dropout: zeroes elements with probability p in training mode (scaling the
// rest by 1/(1-p)); the identity in eval mode.
#pragma once

#include "core/random.h"
#include "layers/module.h"

namespace redes::nn {

class REDES_API Dropout : public Module {
 public:
  // Masks come from `generator` (the process-wide one when null).
  explicit Dropout(double p = 0.5, Generator* generator = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p() const { return p_; }

 private:
  double p_;
  Generator* generator_;
};

}  // namespace redes::nn
