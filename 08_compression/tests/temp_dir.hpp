// Test helper: a private temporary directory for the files a test writes (users files,
// certificates, logs), removed with everything in it when the test ends.
#pragma once

#include <cstdlib>  // mkdtemp (POSIX)
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace ws_test {

/// A fresh directory under the system's temporary directory; removed when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ws_test_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  /// The path of `name` inside the directory (the file need not exist).
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

  /// Writes `contents` to the file `name` inside the directory and returns its path.
  [[nodiscard]] std::string write(const std::string& name, const std::string& contents) const {
    std::string path = file(name);
    std::ofstream(path) << contents;
    return path;
  }

 private:
  std::string path_;
};

}  // namespace ws_test
