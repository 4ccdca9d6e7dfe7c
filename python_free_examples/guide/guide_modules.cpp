// The snippets of docs/guide.md, "Modules", with checks of what the text says.
#include <redes.h>
using namespace redes;

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "guide_check.h"

using guide::check;
using guide::near;

namespace {

// [guide:modules_net]
class Net : public nn::Module {
 public:
  Net(std::int64_t inputs, std::int64_t hidden, std::int64_t outputs)
      : fc1(register_module("fc1", nn::Linear(inputs, hidden))),
        dropout(register_module("dropout", nn::Dropout(0.2))),
        fc2(register_module("fc2", nn::Linear(hidden, outputs))) {}

  Tensor forward(const Tensor& x) override { return fc2(dropout(relu(fc1(x)))); }

 private:
  nn::ModuleHolder<nn::Linear> fc1;   // a shared handle: fc1(x) calls forward,
  nn::ModuleHolder<nn::Dropout> dropout;
  nn::ModuleHolder<nn::Linear> fc2;   // fc2->weight() reaches the Linear
};
// [guide:end]

// [guide:modules_two_inputs]
// A forward of two inputs. Sequential and the Trainer call forward(x), which
// this module does not offer: the using-declaration keeps the base one
// visible (it throws) instead of hiding it.
class PairScore : public nn::Module {
 public:
  explicit PairScore(std::int64_t dim) : project(register_module("project", nn::Linear(dim, dim, false))) {}
  using nn::Module::forward;
  Tensor forward(const Tensor& a, const Tensor& b) { return (project(a) * b).sum({1}); }

 private:
  nn::ModuleHolder<nn::Linear> project;
};

class Siamese : public nn::Module {
 public:
  Siamese() : encode(register_module("encode", nn::Linear(3, 4))), score(register_module("score", PairScore(4))) {}
  using nn::Module::forward;
  Tensor forward(const Tensor& a, const Tensor& b) { return score(encode(a), encode(b)); }  // holders pass both

 private:
  nn::ModuleHolder<nn::Linear> encode;
  nn::ModuleHolder<PairScore> score;
};
// [guide:end]

void writing_modules() {
  manual_seed(0);
  // [guide:modules_use]
  Net net(4, 8, 2);
  Tensor y = net(randn({5, 4}));                    // (5, 2)
  for (const auto& [name, parameter] : net.named_parameters()) {
    std::cout << name << " " << shape_str(parameter.shape()) << "\n";  // fc1.weight (8, 4), fc1.bias (8,), ...
  }
  std::int64_t count = net.parameter_count();        // 8*4 + 8 + 2*8 + 2 = 58
  net.eval();                                        // dropout off (net.train() turns it back on)
  std::cout << net << "\n";                          // a PyTorch-like tree: Net( (fc1): Linear(...) ...
  // [guide:end]
  std::vector<std::string> names;
  for (const auto& [name, parameter] : net.named_parameters()) names.push_back(name);
  check(y.shape() == Shape{5, 2}, "net output shape");
  check(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}, "parameter names");
  check(count == 58, "parameter_count");
  check(!net.is_training(), "eval()");
  check(net.str().rfind("Net(", 0) == 0, "printout starts with Net(");

  // [guide:modules_two_inputs_use]
  nn::ModuleHolder<Siamese> siamese(Siamese{});
  Tensor scores = siamese(randn({6, 3}), randn({6, 3}));  // (6)
  // [guide:end]
  check(scores.shape() == Shape{6}, "two-input forward");
  bool refused = false;
  try {
    siamese->nn::Module::forward(randn({6, 3}));
  } catch (const Error&) {
    refused = true;
  }
  check(refused, "the one-input forward of a two-input module throws");
}

void sequential() {
  // [guide:modules_sequential]
  nn::Sequential model(nn::Linear(4, 16), nn::ReLU(), nn::Dropout(0.1), nn::Linear(16, 1));
  Tensor out = model(randn({3, 4}));                 // (3, 1)
  nn::Linear* first = model[0]->as<nn::Linear>();    // null if child 0 were not a Linear
  nn::Linear& last = model.at<nn::Linear>(3);        // throws if it is not
  std::vector<std::string> names;                    // "0.weight", "0.bias", "3.weight", "3.bias"
  for (const auto& [name, parameter] : model.named_parameters()) names.push_back(name);
  nn::Sequential ready = models::mlp({4, 16, 16, 1}, /*dropout=*/0.1);  // the same kind of stack
  // [guide:end]
  check(out.shape() == Shape{3, 1}, "sequential output");
  check(first != nullptr && first->weight().shape() == Shape{16, 4}, "as<Linear>");
  check(last.weight().shape() == Shape{1, 16}, "at<Linear>");
  check(model[1]->as<nn::Linear>() == nullptr, "as<> of another type is null");
  check(names == std::vector<std::string>{"0.weight", "0.bias", "3.weight", "3.bias"}, "sequential names");
  check(ready(randn({2, 4})).shape() == Shape{2, 1}, "models::mlp");
}

void state_dicts() {
  manual_seed(1);
  // [guide:modules_state_dict]
  Net trained(4, 8, 2);
  nn::StateDict state = trained.state_dict();       // (name, tensor) pairs sharing storage
  Net copy(4, 8, 2);                                 // other random weights
  copy.load_state_dict(state);                       // copies the values in
  bool failed = false;
  try {
    Net wrong(4, 9, 2);
    wrong.load_state_dict(state);                    // every mismatch, in one error
  } catch (const Error& error) {
    failed = true;
    std::cout << error.what() << "\n";
  }
  // [guide:end]
  check(failed, "mismatched load throws");
  const Tensor x = randn({3, 4});
  trained.eval();
  copy.eval();
  check(abs(trained(x) - copy(x)).sum().item() == 0.0, "loaded copy computes the same");
}

void moving() {
  manual_seed(2);
  // [guide:modules_to]
  Net net(4, 8, 2);
  optim::Adam adam(net.parameters(), {.lr = 0.01});  // holds handles on the parameters
  net.to(kFloat64);                                  // converts them in place...
  net.to(Device::best());                            // ...and moves them: same handles
  Tensor loss = pow(net(randn({5, 4}, {.dtype = kFloat64, .device = Device::best()})), 2.0).mean();
  loss.backward();
  adam.step();                                       // updates the float64 parameters
  // [guide:end]
  check(adam.parameters()[0].dtype() == kFloat64, "the optimizer sees the converted parameters");
  check(adam.parameters()[0].device() == Device::best(), "the optimizer sees the moved parameters");
  check(adam.steps_taken() == 1, "the step ran");
}

}  // namespace

int main() {
  return guide::run("guide_modules", [] {
    writing_modules();
    sequential();
    state_dicts();
    moving();
  });
}
