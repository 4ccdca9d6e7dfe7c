// Golden fixtures written by PyTorch (tests/fixtures/make_fixtures.py):
// redes must reproduce its outputs and gradients.
#include <gtest/gtest.h>

#include <map>

#include "support/test_support.h"

namespace redes {
namespace {

using testing::all_close;

std::map<std::string, Tensor> load_fixture(const std::string& name) {
  std::map<std::string, Tensor> tensors;
  for (auto& [key, value] : load_safetensors(::redes::testing::fixture_path(name))) tensors[key] = value;
  return tensors;
}

class FixturesTest : public ::testing::TestWithParam<Device> {
 protected:
  Tensor get(const std::map<std::string, Tensor>& tensors, const std::string& key) const {
    auto found = tensors.find(key);
    if (found == tensors.end()) throw Error("fixture entry \"" + key + "\" is missing");
    return found->second.to(GetParam());
  }
};

TEST_P(FixturesTest, MlpMatchesPyTorchIncludingStateDictNames) {
  REDES_REQUIRE_DEVICE(GetParam());
  const auto fixture = load_fixture("mlp.safetensors");
  nn::Sequential model(nn::Linear(5, 7), nn::ReLU(), nn::Linear(7, 3));
  model.to(kFloat64);
  nn::StateDict state;
  for (const auto& [key, value] : fixture) {
    if (key.rfind("state.", 0) == 0) state.emplace_back(key.substr(6), value);
  }
  model.load_state_dict(state);
  model.to(GetParam());
  Tensor x = get(fixture, "input").requires_grad_();
  const Tensor y = model(x);
  EXPECT_TRUE(all_close(y, get(fixture, "output"), 1e-12, 1e-12));
  y.backward(get(fixture, "grad_output"));
  EXPECT_TRUE(all_close(x.grad(), get(fixture, "grad_input"), 1e-12, 1e-12));
  for (const auto& [name, parameter] : model.named_parameters()) {
    EXPECT_TRUE(all_close(parameter.grad(), get(fixture, "grad." + name), 1e-12, 1e-12)) << name;
  }
}

TEST_P(FixturesTest, LossesMatchPyTorch) {
  REDES_REQUIRE_DEVICE(GetParam());
  const auto fixture = load_fixture("losses.safetensors");
  struct Case {
    std::string prefix, input;
    std::function<Tensor(const Tensor&, const Tensor&)> loss;
  };
  const Case cases[] = {
      {"bce", "logits", [](const Tensor& x, const Tensor& y) { return nn::bce_with_logits(x, y); }},
      {"ce", "logits", [](const Tensor& x, const Tensor& y) { return nn::cross_entropy(x, y); }},
      {"mse", "predictions", [](const Tensor& x, const Tensor& y) { return nn::mse_loss(x, y); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.prefix);
    Tensor x = get(fixture, c.prefix + "." + c.input).requires_grad_();
    const Tensor loss = c.loss(x, get(fixture, c.prefix + ".targets"));
    EXPECT_TRUE(all_close(loss.reshape({1}), get(fixture, c.prefix + ".loss"), 1e-12, 1e-12));
    loss.backward();
    EXPECT_TRUE(all_close(x.grad(), get(fixture, c.prefix + ".grad_" + c.input), 1e-12, 1e-12));
  }
}

REDES_INSTANTIATE_FOR_DEVICES(FixturesTest);

}  // namespace
}  // namespace redes
