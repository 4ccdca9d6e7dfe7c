// cuda::Graph (core/cuda_graph.h) over CUDA's stream capture: the body runs
// with a fresh stream current, which is captured into a graph, instantiated
// once and launched per replay.
#include <cuda_runtime.h>

#include <cstdio>
#include <exception>
#include <string>

#include "core/cuda/check.h"
#include "core/cuda_graph.h"
#include "core/cuda_stream.h"
#include "core/error.h"
#include "core/runtime.h"

namespace redes::cuda {

namespace {

thread_local bool capturing = false;

// The reason an exception from the body gives, for the capture's message.
std::string reason_of(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& error) {
    return error.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace

bool capture_in_progress() { return capturing; }

// The capture stream stays with the graph: the device allocator keys blocks
// by the stream they were allocated on, so the blocks the body allocated
// are reused by no other work for as long as the graph can be replayed.
struct Graph::State {
  State(Stream stream_in, cudaGraph_t graph_in, cudaGraphExec_t exec_in)
      : stream(std::move(stream_in)), graph(graph_in), exec(exec_in) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (!detail::teardown_succeeded(cudaGraphExecDestroy(exec)) ||
        !detail::teardown_succeeded(cudaGraphDestroy(graph))) {
      std::fprintf(stderr, "redes: destroying a CUDA graph failed\n");
    }
  }

  Stream stream;
  cudaGraph_t graph;
  cudaGraphExec_t exec;
};

Graph::Graph(std::shared_ptr<State> state) : state_(std::move(state)) {}

Graph Graph::capture(int device, const std::function<void()>& body) {
  REDES_CHECK(!capturing, "Graph::capture: a capture is already running on this thread (captures do not nest)");
  Stream stream = Stream::create(device);
  Stream::current(device).synchronize();
  const auto handle = static_cast<cudaStream_t>(stream.handle());
  // Relaxed: the body may allocate, and the allocator may then call cudaMalloc.
  REDES_CUDA_CHECK(cudaStreamBeginCapture(handle, cudaStreamCaptureModeRelaxed), "Graph::capture");
  std::exception_ptr failure;
  {
    const StreamGuard guard(stream);
    capturing = true;
    try {
      body();
    } catch (...) {
      failure = std::current_exception();
    }
    capturing = false;
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(handle, &graph);
  if (failure || ended != cudaSuccess) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();  // the capture's failure is reported here, not by the next launch check
    if (failure) detail::fail("Graph::capture: the step cannot be captured: ", reason_of(failure));
    detail::fail("Graph::capture: CUDA ended the capture with ", cudaGetErrorName(ended), " (",
                 cudaGetErrorString(ended), "): the body did something a graph cannot hold, such as waiting for "
                 "the device");
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
  if (instantiated != cudaSuccess) {
    cudaGraphDestroy(graph);
    detail::check_cuda(instantiated, "Graph::capture", "cudaGraphInstantiate", __FILE__, __LINE__);
  }
  return Graph(std::make_shared<State>(std::move(stream), graph, exec));
}

void Graph::replay() const {
  REDES_CUDA_CHECK(cudaSetDevice(device()), "Graph::replay");
  REDES_CUDA_CHECK(cudaGraphLaunch(state_->exec, static_cast<cudaStream_t>(Stream::current(device()).handle())),
                   "Graph::replay");
}

int Graph::device() const { return state_->stream.device(); }

}  // namespace redes::cuda
