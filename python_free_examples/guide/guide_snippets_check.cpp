// Keeps docs/guide.md and the programs it quotes in step. In the programs,
// a snippet is the lines between `// [guide:NAME]` and `// [guide:end]`,
// less their common indentation. In the guide, every fenced code block must
// follow a line `<!-- guide:NAME -->` and equal snippet NAME line for line;
// every snippet must be shown.
//
//   guide_snippets_check docs/guide.md python_free_examples/guide
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Lines = std::vector<std::string>;

int problems = 0;

void problem(const std::string& where, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", where.c_str(), what.c_str());
  ++problems;
}

Lines read_lines(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    problem(path.string(), "cannot be read");
    return {};
  }
  Lines lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// NAME when `line` is `prefix NAME suffix` (after trimming), else nothing.
std::optional<std::string> marker(const std::string& line, const std::string& prefix, const std::string& suffix) {
  const std::string text = trim(line);
  if (text.size() <= prefix.size() + suffix.size() || text.compare(0, prefix.size(), prefix) != 0 ||
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  return trim(text.substr(prefix.size(), text.size() - prefix.size() - suffix.size()));
}

Lines dedent(Lines lines) {
  std::size_t common = std::string::npos;
  for (const std::string& line : lines) {
    const auto first = line.find_first_not_of(' ');
    if (first != std::string::npos) common = std::min(common, first);
  }
  if (common == std::string::npos) return lines;
  for (std::string& line : lines) line = line.size() >= common ? line.substr(common) : "";
  return lines;
}

struct Snippet {
  Lines lines;
  std::string where;
};

std::map<std::string, Snippet> read_snippets(const fs::path& folder) {
  std::map<std::string, Snippet> snippets;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string extension = entry.path().extension().string();
    if (extension == ".cpp" || extension == ".h") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    if (file.filename() == "guide_snippets_check.cpp") continue;  // its comment shows the markers
    const Lines lines = read_lines(file);
    std::optional<std::string> open;
    Snippet current;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string where = file.string() + ":" + std::to_string(i + 1);
      const auto name = marker(lines[i], "// [guide:", "]");
      if (!name) {
        if (open) current.lines.push_back(lines[i]);
        continue;
      }
      if (*name == "end") {
        if (!open) {
          problem(where, "[guide:end] without a snippet open");
          continue;
        }
        current.lines = dedent(current.lines);
        if (snippets.count(*open) != 0) {
          problem(current.where, "snippet " + *open + " is also defined at " + snippets[*open].where);
        } else {
          snippets[*open] = current;
        }
        open.reset();
      } else {
        if (open) problem(where, "snippet " + *name + " starts inside snippet " + *open);
        open = *name;
        current = Snippet{{}, where};
      }
    }
    if (open) problem(current.where, "snippet " + *open + " has no [guide:end]");
  }
  return snippets;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s GUIDE.md SNIPPET_FOLDER\n", argv[0]);
    return 2;
  }
  const fs::path guide = argv[1];
  const std::map<std::string, Snippet> snippets = read_snippets(argv[2]);
  const Lines lines = read_lines(guide);
  std::set<std::string> shown;
  std::optional<std::string> pending;  // the name of the last <!-- guide:NAME --> line
  std::size_t blocks = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string where = guide.string() + ":" + std::to_string(i + 1);
    if (const auto name = marker(lines[i], "<!-- guide:", "-->")) {
      pending = name;
      continue;
    }
    if (trim(lines[i]).rfind("```", 0) != 0) {
      if (!trim(lines[i]).empty()) pending.reset();
      continue;
    }
    // A fenced block from here to the next ``` line.
    ++blocks;
    Lines block;
    std::size_t end = i + 1;
    while (end < lines.size() && trim(lines[end]).rfind("```", 0) != 0) block.push_back(lines[end++]);
    if (end == lines.size()) problem(where, "code block is not closed");
    if (!pending) {
      problem(where, "code block without a <!-- guide:NAME --> line before it");
    } else if (snippets.count(*pending) == 0) {
      problem(where, "no snippet named " + *pending + " in " + std::string(argv[2]));
    } else {
      shown.insert(*pending);
      const Snippet& snippet = snippets.at(*pending);
      const std::size_t n = std::max(block.size(), snippet.lines.size());
      for (std::size_t k = 0; k < n; ++k) {
        const std::string in_guide = k < block.size() ? block[k] : "<end of block>";
        const std::string in_code = k < snippet.lines.size() ? snippet.lines[k] : "<end of snippet>";
        if (in_guide != in_code) {
          problem(guide.string() + ":" + std::to_string(i + 2 + k),
                  "block " + *pending + " differs from " + snippet.where + ", line " + std::to_string(k + 1) +
                      ":\n  guide: " + in_guide + "\n  code:  " + in_code);
          break;
        }
      }
    }
    pending.reset();
    i = end;
  }
  for (const auto& [name, snippet] : snippets) {
    if (shown.count(name) == 0) problem(snippet.where, "snippet " + name + " is not shown in " + guide.string());
  }
  if (problems != 0) {
    std::fprintf(stderr, "%d problem(s): the guide and its programs differ\n", problems);
    return EXIT_FAILURE;
  }
  std::printf("%zu code blocks of %s match their snippets (%zu snippets)\n", blocks, guide.string().c_str(),
              snippets.size());
  return EXIT_SUCCESS;
}
