// One test table per op, in the manner of ggml's tests/test-backend-ops.cpp:
// each row is a computation on random inputs; check_op_table runs it on
// every device, in float32 and float64, under every implementation the
// registry has for its kernel ops, and compares the outputs and the input
// gradients with the CPU's hand kernels in float64. A float64 gradcheck on
// the CPU checks the reference itself.
//
// An implementation is forced for all of the row's kernel ops that have it
// (the forward and its backward), under the implementation setting of its
// kind (vendor for cuDNN and oneDNN, hand otherwise), so that ops choosing a
// path above the registry (max_pool2d, nn::LSTM) take the one that calls
// it. That the row's first kernel op really runs there is checked by
// forcing an implementation registered only for another device or dtype,
// which must then fail (where the registry has one); an
// implementation that refuses the row's arguments is reported, and every
// implementation must run somewhere in the table.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <redes.h>

namespace redes::testing {

struct OpCase {
  std::string name;
  std::vector<std::string> ops;  // the kernel ops the computation calls; ops[0] lists the implementations
  std::vector<Shape> inputs;     // random values in [-1, 1), each differentiated
  std::function<Tensor(const std::vector<Tensor>&)> run;
  double float32_tolerance = 1e-4;  // absolute and relative, against the float64 reference
  bool gradcheck = true;            // numerically, on the CPU in float64
  // Inputs as a view with transposed strides (the same values, not contiguous).
  bool strided_inputs = false;
  // Kernel ops of another path the computation may take where `ops` cannot
  // serve (max_pool2d's indices kernel beside the values kernel): while an
  // implementation is forced, these are forced to a name their device and
  // dtype lack, so that a fallback fails instead of passing unnoticed.
  std::vector<std::string> fallback_ops = {};
};

// Runs the table (see above); failures are gtest expectations naming the
// row, device, dtype and implementation.
void check_op_table(const std::vector<OpCase>& table);

}  // namespace redes::testing
