// Custom autograd functions: a forward and a backward written by the user,
// joined by a context object, as torch::autograd::Function.
//
//   struct Cube : autograd::Function<Cube> {
//     static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x, double scale) {
//       ctx->save_for_backward({x});
//       ctx->saved_data["scale"] = scale;
//       return x * x * x * scale;
//     }
//     static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
//       const Tensor x = ctx->get_saved_variables()[0];
//       const double scale = std::any_cast<double>(ctx->saved_data["scale"]);
//       return {grads[0] * x * x * (3.0 * scale)};  // one gradient per Tensor argument
//     }
//   };
//   Tensor y = Cube::apply(x, 2.0);
//
// forward runs under NoGradGuard and returns a Tensor or a
// std::vector<Tensor>; backward gets one gradient per output (zeros where
// none flowed) and returns one per Tensor argument of forward (undefined
// where none is needed). backward runs with grad mode on in a pass with
// create_graph, so a backward written with differentiable ops can be
// differentiated again. An optional `static constexpr const char* name`
// names the function in errors.
#pragma once

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/autograd.h"
#include "core/export.h"
#include "core/tensor.h"

namespace redes::autograd {

namespace detail {
class CustomFunctionNode;
}

class REDES_API AutogradContext {
 public:
  // Tensors backward will need (inputs or outputs of forward). Saving them
  // here, not in saved_data, lets backward detect a later in-place change.
  void save_for_backward(std::vector<Tensor> tensors);
  // The saved tensors, in backward; throws if one was modified in place since
  // forward or freed by an earlier backward pass.
  std::vector<Tensor> get_saved_variables() const;
  // Whether Tensor argument `index` of forward requires a gradient.
  bool needs_input_grad(std::size_t index) const;

  // Anything else backward needs: sizes, scales, flags.
  std::unordered_map<std::string, std::any> saved_data;

 private:
  friend struct FunctionRecorder;
  friend class detail::CustomFunctionNode;
  std::vector<Tensor> to_save_;
  std::vector<SavedTensor> saved_;
  std::vector<bool> needs_input_grad_;
  const char* name_ = "custom function";
  Node* node_ = nullptr;
};

using CustomBackward = std::function<std::vector<Tensor>(AutogradContext*, std::vector<Tensor>)>;

// The non-template part of Function::apply.
struct REDES_API FunctionRecorder {
  // Before forward: notes which inputs need a gradient.
  static void prepare(AutogradContext& ctx, const char* name, const std::vector<Tensor>& inputs);
  // After forward: makes `outputs` the results of one node whose backward is
  // `backward` (when an input requires grad and grad mode is on). An output
  // that is one of the inputs becomes an alias of it first, and outputs that
  // are not floating point get no history.
  static void record(const std::shared_ptr<AutogradContext>& ctx, const std::vector<Tensor>& inputs,
                     std::vector<Tensor>& outputs, CustomBackward backward);
};

template <class Derived>
struct Function {
  template <class... Args>
  static auto apply(Args&&... args) {
    auto ctx = std::make_shared<AutogradContext>();
    std::vector<Tensor> inputs;
    (collect(inputs, args), ...);
    FunctionRecorder::prepare(*ctx, function_name(), inputs);
    using Result = decltype(Derived::forward(ctx.get(), std::forward<Args>(args)...));
    static_assert(std::is_same_v<Result, Tensor> || std::is_same_v<Result, std::vector<Tensor>>,
                  "Function::forward must return Tensor or std::vector<Tensor>");
    std::vector<Tensor> outputs;
    {
      NoGradGuard no_grad;
      if constexpr (std::is_same_v<Result, Tensor>) {
        outputs.push_back(Derived::forward(ctx.get(), std::forward<Args>(args)...));
      } else {
        outputs = Derived::forward(ctx.get(), std::forward<Args>(args)...);
      }
    }
    FunctionRecorder::record(ctx, inputs, outputs, [](AutogradContext* c, std::vector<Tensor> grads) {
      return Derived::backward(c, std::move(grads));
    });
    if constexpr (std::is_same_v<Result, Tensor>) {
      return outputs[0];
    } else {
      return outputs;
    }
  }

 private:
  static const char* function_name() {
    if constexpr (requires { Derived::name; }) {
      return Derived::name;
    } else {
      return "custom function";
    }
  }
  static void collect(std::vector<Tensor>& inputs, const Tensor& tensor) { inputs.push_back(tensor); }
  template <class Other>
  static void collect(std::vector<Tensor>&, const Other&) {}
};

}  // namespace redes::autograd
