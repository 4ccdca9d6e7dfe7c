// Ready-made networks of the course and the reference workloads, with the
// layer layout (and so the state-dict names) of their usual PyTorch versions.
#pragma once

#include <vector>

#include "layers/sequential.h"

namespace redes::models {

// LeNet-5 for 1x28x28 inputs (docs/workloads.md, W2): conv 1->6 5x5 pad 2, ReLU,
// maxpool 2 -> conv 6->16 5x5, ReLU, maxpool 2 -> 400 -> 120 -> 84 -> 10.
REDES_API nn::Sequential lenet5(std::int64_t classes = 10);

// The deep CNN of W3 for 3x32x32 inputs: four blocks of conv 3x3 pad 1 +
// ReLU + maxpool 2 (32, 64, 128, 256 channels) -> flatten 1024 ->
// dropout 0.5 -> 512 ReLU -> classes.
REDES_API nn::Sequential cifar_cnn(std::int64_t classes = 100);

// A multilayer perceptron: Linear layers of the given sizes with ReLU (and
// Dropout(dropout) when > 0) between them; the last layer has no activation.
REDES_API nn::Sequential mlp(const std::vector<std::int64_t>& sizes, double dropout = 0.0);

// AlexNet in torchvision's layout (children "features", "avgpool",
// "classifier"): 11x11 stride-4 conv, overlapping 3x3/2 max pools, adaptive
// average pool to 6x6, dropout before the fully connected layers. Expects
// 3x224x224 inputs (any size of at least 63x63 works thanks to the adaptive pool).
class REDES_API AlexNet : public nn::Module {
 public:
  explicit AlexNet(std::int64_t classes = 1000, double dropout = 0.5);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "AlexNet"; }
};

REDES_API AlexNet alexnet(std::int64_t classes = 1000);

}  // namespace redes::models
