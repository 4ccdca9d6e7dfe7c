// Linear: y = x W^T + b, weight (out_features, in_features) as in PyTorch so
// state dicts exchange with it.
#pragma once

#include "layers/module.h"

namespace redes::nn {

class REDES_API Linear : public Module {
 public:
  // Weight Kaiming-uniform (bound 1/sqrt(in_features)), bias uniform with the
  // same bound, drawn from the default generator.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  const Tensor& weight() const { return parameter("weight"); }
  const Tensor& bias() const { return parameter("bias"); }
  bool has_bias() const { return has_bias_; }

 private:
  std::int64_t in_features_;
  std::int64_t out_features_;
  bool has_bias_;
};

}  // namespace redes::nn
