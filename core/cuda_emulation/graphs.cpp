// CUDA graphs of the emulated runtime: what a stream capture recorded (an
// ordered list of work items) and its executable instances. A launch queues
// the whole list as one item on a stream, so a replay runs the captured
// closures again, with the arguments and pointers they were captured with.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/cuda_emulation/emulated_runtime.h"

struct CUgraph_st {
  int device;
  // Shared with the graph's instances, which outlive it (cudaGraphDestroy
  // may come right after cudaGraphInstantiate).
  std::shared_ptr<const redes::cuda_emulation::GraphNodes> nodes;
};

// An executable graph. Its launches run one after another even on different
// streams, as the runtime promises: each waits for the one before it.
struct CUgraphExec_st {
  CUgraphExec_st(int device_in, std::shared_ptr<const redes::cuda_emulation::GraphNodes> nodes_in)
      : device(device_in), nodes(std::move(nodes_in)) {}

  const int device;
  const std::shared_ptr<const redes::cuda_emulation::GraphNodes> nodes;
  std::mutex mutex;
  std::condition_variable finished_cv;
  std::uint64_t launched = 0;  // launches queued
  std::uint64_t finished = 0;  // the last launch that has run to its end
};

namespace redes::cuda_emulation {
namespace {

using GraphPtr = std::shared_ptr<CUgraph_st>;
using ExecPtr = std::shared_ptr<CUgraphExec_st>;

// Every live graph and executable graph, so a destroyed or made-up handle is
// refused (cudaErrorInvalidValue, the graph calls' error for a bad handle).
// Queued launches hold their executable graph, so destroying it while a
// launch is pending is safe, as in the runtime.
struct Graphs {
  std::mutex mutex;
  std::unordered_map<CUgraph_st*, GraphPtr> graphs;
  std::unordered_map<CUgraphExec_st*, ExecPtr> execs;
};

Graphs& graphs() {
  static auto* state = new Graphs();  // never destroyed: queued launches may outlive static teardown
  return *state;
}

GraphPtr find_graph(cudaGraph_t handle) {
  Graphs& state = graphs();
  std::lock_guard lock(state.mutex);
  const auto found = state.graphs.find(handle);
  return found != state.graphs.end() ? found->second : nullptr;
}

ExecPtr find_exec(cudaGraphExec_t handle) {
  Graphs& state = graphs();
  std::lock_guard lock(state.mutex);
  const auto found = state.execs.find(handle);
  return found != state.execs.end() ? found->second : nullptr;
}

// Waits until launch `previous` of `exec` has run, or the device has failed
// (a failed device drops queued work, so that launch would never finish).
void wait_finished(CUgraphExec_st& exec, std::uint64_t previous) {
  std::unique_lock lock(exec.mutex);
  while (exec.finished < previous && sticky_error(exec.device) == cudaSuccess) {
    exec.finished_cv.wait_for(lock, std::chrono::milliseconds(10));
  }
}

void mark_finished(CUgraphExec_st& exec, std::uint64_t launch) {
  {
    std::lock_guard lock(exec.mutex);
    exec.finished = std::max(exec.finished, launch);
  }
  exec.finished_cv.notify_all();
}

// Runs the nodes in order. A node that fails the device stops the rest, as
// the stream drops the work queued after a failure.
void run_nodes(const GraphNodes& nodes, int device) {
  for (const std::function<void()>& node : nodes) {
    if (sticky_error(device) != cudaSuccess) return;
    node();
  }
}

// Queues one launch of `exec` on `stream`, behind the launch before it.
cudaError_t queue_launch(const ExecPtr& exec, CUstream_st& stream) {
  // Held while queuing, so a launch number is taken only by a launch that
  // was queued and will mark it finished.
  std::lock_guard lock(exec->mutex);
  const std::uint64_t number = exec->launched + 1;
  const cudaError_t queued = enqueue(stream, [exec, number] {
    wait_finished(*exec, number - 1);
    run_nodes(*exec->nodes, exec->device);
    mark_finished(*exec, number);
  });
  if (queued == cudaSuccess) exec->launched = number;
  return queued;
}

}  // namespace

cudaGraph_t make_graph(int device, GraphNodes nodes) {
  auto graph = std::make_shared<CUgraph_st>(
      CUgraph_st{device, std::make_shared<const GraphNodes>(std::move(nodes))});
  Graphs& state = graphs();
  std::lock_guard lock(state.mutex);
  state.graphs.emplace(graph.get(), graph);
  return graph.get();
}

}  // namespace redes::cuda_emulation

using namespace redes::cuda_emulation;

extern "C" {

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph_handle, unsigned long long flags) {
  if (exec == nullptr || flags != 0) return record_error(cudaErrorInvalidValue);
  const GraphPtr graph = find_graph(graph_handle);
  if (graph == nullptr) return record_error(cudaErrorInvalidValue);
  auto created = std::make_shared<CUgraphExec_st>(graph->device, graph->nodes);
  Graphs& state = graphs();
  std::lock_guard lock(state.mutex);
  state.execs.emplace(created.get(), created);
  *exec = created.get();
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec_handle, cudaStream_t handle) {
  const ExecPtr exec = find_exec(exec_handle);
  if (exec == nullptr) return record_error(cudaErrorInvalidValue);
  CUstream_st* stream = resolve_stream(handle);
  if (stream == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (stream->device != exec->device) return record_error(cudaErrorInvalidValue);
  if (const cudaError_t sticky = sticky_error(stream->device); sticky != cudaSuccess) return record_error(sticky);
  // Into a capture, the launch would become a child-graph node, which the
  // emulation does not record. Refusing it invalidates the capture, so the
  // capture cannot end as a graph that silently lacks this work.
  if (const cudaError_t refused = refuse_while_capturing(*stream); refused != cudaSuccess) return record_error(refused);
  return record_error(queue_launch(exec, *stream));
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  Graphs& state = graphs();
  std::lock_guard lock(state.mutex);
  if (state.execs.erase(exec) == 0) return record_error(cudaErrorInvalidValue);
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  Graphs& state = graphs();
  std::lock_guard lock(state.mutex);
  if (state.graphs.erase(graph) == 0) return record_error(cudaErrorInvalidValue);
  return cudaSuccess;
}

}  // extern "C"
