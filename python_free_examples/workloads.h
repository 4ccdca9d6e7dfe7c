// The five reference workloads of docs/workloads.md, one program each. Each
// returns a process exit code and ends by printing its JSON result lines.
#pragma once

#include "workload_options.h"

namespace redes::examples {

int cars_mlp(const WorkloadOptions& options);          // W1
int fashion_lenet(const WorkloadOptions& options);     // W2
int cifar_cnn(const WorkloadOptions& options);         // W3
int seattle_lstm(const WorkloadOptions& options);      // W4
int fashion_seq_lstm(const WorkloadOptions& options);  // W5

}  // namespace redes::examples
