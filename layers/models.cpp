#include "layers/models.h"

#include "layers/activations.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"

namespace redes::models {

using namespace redes::nn;

Sequential lenet5(std::int64_t classes) {
  return Sequential(Conv2d(1, 6, 5, {.padding = {2, 2}}), ReLU(), MaxPool2d(2), Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),
                    Flatten(), Linear(400, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, classes));
}

Sequential cifar_cnn(std::int64_t classes) {
  Sequential model;
  std::int64_t channels = 3;
  for (std::int64_t width : {32, 64, 128, 256}) {
    model.push_back(std::make_shared<Conv2d>(channels, width, 3, Conv2dOptions{.padding = {1, 1}}));
    model.push_back(std::make_shared<ReLU>());
    model.push_back(std::make_shared<MaxPool2d>(2));
    channels = width;
  }
  model.push_back(std::make_shared<Flatten>());
  model.push_back(std::make_shared<Dropout>(0.5));
  model.push_back(std::make_shared<Linear>(256 * 2 * 2, 512));
  model.push_back(std::make_shared<ReLU>());
  model.push_back(std::make_shared<Linear>(512, classes));
  return model;
}

Sequential mlp(const std::vector<std::int64_t>& sizes, double dropout) {
  REDES_CHECK(sizes.size() >= 2, "mlp: expected at least an input and an output size, got ", sizes.size(), " sizes");
  Sequential model;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    model.push_back(std::make_shared<Linear>(sizes[i], sizes[i + 1]));
    if (i + 2 == sizes.size()) break;
    model.push_back(std::make_shared<ReLU>());
    if (dropout > 0) model.push_back(std::make_shared<Dropout>(dropout));
  }
  return model;
}

AlexNet::AlexNet(std::int64_t classes, double dropout) {
  const MaxPool2dOptions overlapping{.stride = std::array<std::int64_t, 2>{2, 2}};
  register_module("features",
                  Sequential(Conv2d(3, 64, 11, {.stride = {4, 4}, .padding = {2, 2}}), ReLU(), MaxPool2d(3, overlapping),
                             Conv2d(64, 192, 5, {.padding = {2, 2}}), ReLU(), MaxPool2d(3, overlapping),
                             Conv2d(192, 384, 3, {.padding = {1, 1}}), ReLU(), Conv2d(384, 256, 3, {.padding = {1, 1}}),
                             ReLU(), Conv2d(256, 256, 3, {.padding = {1, 1}}), ReLU(), MaxPool2d(3, overlapping)));
  register_module("avgpool", AdaptiveAvgPool2d({6, 6}));
  register_module("classifier", Sequential(Dropout(dropout), Linear(256 * 6 * 6, 4096), ReLU(), Dropout(dropout),
                                           Linear(4096, 4096), ReLU(), Linear(4096, classes)));
}

Tensor AlexNet::forward(const Tensor& input) {
  const auto& children = named_children();
  const Tensor pooled = children[1].second->forward(children[0].second->forward(input));
  return children[2].second->forward(pooled.reshape({pooled.size(0), -1}));
}

AlexNet alexnet(std::int64_t classes) { return AlexNet(classes); }

}  // namespace redes::models
