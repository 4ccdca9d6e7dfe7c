// The name and the message of each status code an emulated library returns
// (cudaGetErrorName/String, cublasGetStatusName/String), as one table per
// library, looked up here.
#pragma once

#include <cstddef>

namespace redes::cuda_emulation {

template <class Status>
struct StatusName {
  Status status;
  const char* name;
  const char* text;
};

// The entry for `status`, or null for a code the table does not know.
template <class Status, std::size_t N>
const StatusName<Status>* find_status(const StatusName<Status> (&table)[N], Status status) {
  for (const StatusName<Status>& entry : table) {
    if (entry.status == status) return &entry;
  }
  return nullptr;
}

template <class Status, std::size_t N>
const char* name_of(const StatusName<Status> (&table)[N], Status status, const char* unknown) {
  const StatusName<Status>* entry = find_status(table, status);
  return entry != nullptr ? entry->name : unknown;
}

template <class Status, std::size_t N>
const char* text_of(const StatusName<Status> (&table)[N], Status status, const char* unknown) {
  const StatusName<Status>* entry = find_status(table, status);
  return entry != nullptr ? entry->text : unknown;
}

}  // namespace redes::cuda_emulation
