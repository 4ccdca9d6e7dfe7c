// What the oneDNN implementations share: the CPU engine, a stream per
// thread, a cache of primitives by shape, and running a primitive on redes'
// own buffers.
//
// oneDNN picks its fastest memory layout for each primitive (blocked layouts
// such as nChw16c); redes tensors are plain NCHW. A Prepared primitive holds
// the reorders between the two, so blocked layouts never leave the op, and
// its scratch (reordered tensors, oneDNN's scratchpad) comes from the call's
// workspace, i.e. redes' caching allocator.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/exec_context.h"

namespace redes::onednn {

dnnl::engine& engine();
// The calling thread's stream on engine() (oneDNN streams are not shared
// between threads).
dnnl::stream& stream();

// One argument of a primitive as the caller holds it: the plain layout
// `user` at `data`. When the primitive wants `wanted` instead, run()
// reorders into a workspace buffer before (an input) or after (an output).
struct Operand {
  int arg = 0;  // DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, ...
  dnnl::memory::desc user;
  dnnl::memory::desc wanted;
  bool output = false;
  bool zero_first = false;  // an output the primitive adds into (RNN weight gradients): zeroed before it runs
  std::optional<dnnl::reorder> reorder;  // user -> wanted (an input) or back (an output), when they differ
};

// An operand held as `user` by the caller and wanted as `wanted` by the primitive.
Operand input(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted);
Operand output(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted);
Operand accumulated_output(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& wanted);

// A primitive built for one shape, with the layouts of its operands.
struct Prepared {
  dnnl::primitive primitive;
  dnnl::memory::desc scratchpad;
  std::vector<Operand> operands;
};

// Runs `prepared` on the buffers `data` (one per operand, in the same order),
// reordering from and to the plain layouts as needed, with scratch from
// `workspace`, and waits for it.
void run(const Prepared& prepared, const std::vector<void*>& data, Workspace& workspace);

// The primitive cached under `key`, built by `build` on the first call with
// that key. Keys are whole shapes and settings, so one process sees few.
const Prepared& cached(const std::string& key, const std::function<Prepared()>& build);

// A primitive_attr whose scratchpad the caller provides (run() takes it from
// the workspace instead of oneDNN allocating it per call).
dnnl::primitive_attr user_scratchpad();

// Whether oneDNN runs bfloat16 convolutions and matmuls on this CPU (AVX-512
// and up; natively with AVX512-BF16 or AMX). Asked of oneDNN once.
bool has_bf16();

// Runs `body`, turning a dnnl::error into a redes::Error that names `op`.
void translate_errors(const char* op, const std::function<void()>& body);

}  // namespace redes::onednn
