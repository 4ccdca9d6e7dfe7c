#include "train/io/safetensors.h"


#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/data/file_io.h"
#include "train/io/atomic_file.h"

namespace redes {

namespace {

using json = nlohmann::json;

// Refuse headers larger than this before reading them: a corrupt length must
// not turn into a huge allocation.
constexpr std::uint64_t kMaxHeaderBytes = 100ULL << 20;

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Int32: return "I32";
    case DType::UInt8: return "U8";
    case DType::Bool: return "BOOL";
    case DType::Float16: return "F16";
    case DType::BFloat16: return "BF16";
  }
  return "?";
}

bool parse_dtype(const std::string& name, DType& dtype) {
  for (DType candidate : {DType::Float32, DType::Float64, DType::Int64, DType::Int32, DType::UInt8, DType::Bool,
                          DType::Float16, DType::BFloat16}) {
    if (name == safetensors_dtype(candidate)) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin;
  std::uint64_t end;
};

struct ParsedFile {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start;
};

std::uint64_t file_size(std::ifstream& in) {
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0, std::ios::beg);
  return size;
}

ParsedFile parse_header(std::ifstream& in, const std::string& path) {
  const std::uint64_t size = file_size(in);
  REDES_CHECK(size >= 8, "safetensors: ", path, ": file of ", size, " bytes is too short for the 8-byte header length");
  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
  REDES_CHECK(header_length <= size - 8, "safetensors: ", path, ": header length ", header_length,
              " runs past the end of the ", size, "-byte file");
  REDES_CHECK(header_length <= kMaxHeaderBytes, "safetensors: ", path, ": header length ", header_length,
              " exceeds the ", kMaxHeaderBytes, "-byte limit");
  std::string text(header_length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_length));
  REDES_CHECK(in.good(), "safetensors: ", path, ": could not read the ", header_length, "-byte header");

  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& error) {
    detail::fail("safetensors: ", path, ": the header is not valid JSON (", data::detail::printable(error.what()), ")");
  }
  REDES_CHECK(header.is_object(), "safetensors: ", path, ": the header must be a JSON object");

  ParsedFile parsed;
  parsed.data_start = 8 + header_length;
  const std::uint64_t data_size = size - parsed.data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& value = it.value();
    if (name == "__metadata__") {
      REDES_CHECK(value.is_object(), "safetensors: ", path, ": __metadata__ must be an object of strings");
      for (auto m = value.begin(); m != value.end(); ++m) {
        REDES_CHECK(m.value().is_string(), "safetensors: ", path, ": metadata \"", m.key(), "\" is not a string");
        parsed.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const auto where = [&](const std::string& what) { return "safetensors: " + path + ": tensor \"" + name + "\": " + what; };
    REDES_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                    value.contains("data_offsets"),
                where("expected an object with dtype, shape and data_offsets"));
    Entry entry{name, DType::Float32, {}, 0, 0};
    REDES_CHECK(value["dtype"].is_string(), where("dtype must be a string"));
    const std::string dtype = value["dtype"].get<std::string>();
    REDES_CHECK(parse_dtype(dtype, entry.dtype), where("unsupported dtype \"" + dtype + "\""));
    REDES_CHECK(value["shape"].is_array(), where("shape must be an array"));
    std::uint64_t elements = 1;
    for (const json& dim : value["shape"]) {
      REDES_CHECK(dim.is_number_unsigned(), where("shape entries must be non-negative integers"));
      const auto d = dim.get<std::uint64_t>();
      REDES_CHECK(d == 0 || elements <= std::numeric_limits<std::uint64_t>::max() / d / 8, where("shape overflows"));
      elements *= d;
      entry.shape.push_back(static_cast<std::int64_t>(d));
    }
    const json& offsets = value["data_offsets"];
    REDES_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                    offsets[1].is_number_unsigned(),
                where("data_offsets must be two non-negative integers"));
    entry.begin = offsets[0].get<std::uint64_t>();
    entry.end = offsets[1].get<std::uint64_t>();
    REDES_CHECK(entry.begin <= entry.end && entry.end <= data_size,
                where("data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                      ") fall outside the " + std::to_string(data_size) + "-byte data section"));
    REDES_CHECK(entry.end - entry.begin == elements * dtype_size(entry.dtype),
                where("shape " + shape_str(entry.shape) + " of " + dtype + " needs " +
                      std::to_string(elements * dtype_size(entry.dtype)) + " bytes, data_offsets give " +
                      std::to_string(entry.end - entry.begin)));
    parsed.entries.push_back(std::move(entry));
  }

  // The ranges must tile the data section exactly: no overlaps, no gaps.
  std::vector<const Entry*> by_offset;
  for (const Entry& entry : parsed.entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  for (const Entry* entry : by_offset) {
    REDES_CHECK(entry->begin >= covered || entry->begin == entry->end, "safetensors: ", path, ": tensor \"",
                entry->name, "\" overlaps the previous tensor's bytes");
    REDES_CHECK(entry->begin <= covered, "safetensors: ", path, ": bytes [", covered, ", ", entry->begin,
                ") of the data section belong to no tensor");
    covered = std::max(covered, entry->end);
  }
  REDES_CHECK(covered == data_size, "safetensors: ", path, ": bytes [", covered, ", ", data_size,
              ") of the data section belong to no tensor");
  return parsed;
}

std::ifstream open_for_reading(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REDES_CHECK(in.is_open(), "safetensors: cannot open ", path, ": ", std::strerror(errno));
  return in;
}

}  // namespace

NamedTensors load_safetensors(const std::string& path) {
  std::ifstream in = open_for_reading(path);
  ParsedFile parsed = parse_header(in, path);
  // File order is the order of the header object, which nlohmann sorts; use
  // the data order instead, which is the order the writer chose.
  std::sort(parsed.entries.begin(), parsed.entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  NamedTensors tensors;
  for (const Entry& entry : parsed.entries) {
    Tensor tensor = empty(entry.shape, {entry.dtype, Device::cpu()});
    in.seekg(static_cast<std::streamoff>(parsed.data_start + entry.begin));
    in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(entry.end - entry.begin));
    REDES_CHECK(in.good() || entry.begin == entry.end, "safetensors: ", path, ": could not read tensor \"",
                entry.name, "\"");
    tensors.emplace_back(entry.name, std::move(tensor));
  }
  return tensors;
}

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path) {
  std::ifstream in = open_for_reading(path);
  return parse_header(in, path).metadata;
}

void save_safetensors(const NamedTensors& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<Tensor> host;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    REDES_CHECK(tensor.defined(), "save_safetensors: tensor \"", name, "\" is undefined");
    REDES_CHECK(name != "__metadata__" && !header.contains(name), "save_safetensors: duplicate or reserved name \"",
                name, "\"");
    NoGradGuard no_grad;
    host.push_back(tensor.detach().to(Device::cpu()).contiguous());
    const std::uint64_t bytes = static_cast<std::uint64_t>(tensor.numel()) * dtype_size(tensor.dtype());
    header[name] = {{"dtype", safetensors_dtype(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as the format recommends.
  text.append((8 - text.size() % 8) % 8, ' ');

  write_file_atomically(path, "save_safetensors", [&](std::FILE* file) {
    unsigned char length_bytes[8];
    std::uint64_t length = text.size();
    for (unsigned char& byte : length_bytes) {
      byte = static_cast<unsigned char>(length & 0xff);
      length >>= 8;
    }
    bool ok = std::fwrite(length_bytes, 1, 8, file) == 8;
    ok = ok && std::fwrite(text.data(), 1, text.size(), file) == text.size();
    for (const Tensor& tensor : host) {
      const std::size_t bytes = static_cast<std::size_t>(tensor.numel()) * dtype_size(tensor.dtype());
      ok = ok && (bytes == 0 || std::fwrite(tensor.data_ptr(), 1, bytes, file) == bytes);
    }
    return ok;
  });
}

}  // namespace redes
