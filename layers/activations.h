// Parameter-free layers: activations, Flatten and Unflatten.
#pragma once

#include "core/ops.h"
#include "layers/module.h"

namespace redes::nn {

class REDES_API ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "ReLU"; }
};

class REDES_API Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sigmoid"; }
};

class REDES_API Tanh : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Tanh"; }
};

class REDES_API GELU : public Module {
 public:
  explicit GELU(GeluApproximation approximate = GeluApproximation::None) : approximate_(approximate) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override;

 private:
  GeluApproximation approximate_;
};

class REDES_API SiLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "SiLU"; }
};

class REDES_API LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;

 private:
  double negative_slope_;
};

// Flattens dims start_dim..end_dim into one (by default all but the batch dim).
class REDES_API Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;

 private:
  std::int64_t start_dim_;
  std::int64_t end_dim_;
};

// Splits dim `dim` into `sizes` (their product must be its size): the inverse
// of Flatten, e.g. Unflatten(1, {16, 5, 5}) after a Linear feeding a conv.
class REDES_API Unflatten : public Module {
 public:
  Unflatten(std::int64_t dim, Shape sizes);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Unflatten"; }
  std::string extra_repr() const override;

 private:
  std::int64_t dim_;
  Shape sizes_;
};

}  // namespace redes::nn
