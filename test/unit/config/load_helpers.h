// Loading a config text as "t.yaml" in tests: the config, or the text of every error.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"

namespace remora::config::testing {

// Fails the test with each error when the text does not load.
inline std::shared_ptr<const Config> loadOk(const std::string& yaml) {
  Result<std::shared_ptr<const Config>> result = loadConfigString(yaml, "t.yaml");
  for (const Error& error : result.errors()) ADD_FAILURE() << error.text();
  return result.ok() ? *result : std::make_shared<const Config>();
}

inline std::vector<std::string> errorsOf(const std::string& yaml) {
  Result<std::shared_ptr<const Config>> result = loadConfigString(yaml, "t.yaml");
  std::vector<std::string> texts;
  for (const Error& error : result.errors()) texts.push_back(error.text());
  EXPECT_EQ(result.ok(), texts.empty());
  return texts;
}

// A config with one listener (one route to cluster `c`) and cluster `c`; `cluster_lines` are
// appended to the cluster, each indented as its keys, starting at line 8.
inline std::string withCluster(const std::string& cluster_lines) {
  return "listeners:\n"
         "  - name: edge\n"
         "    address: 127.0.0.1:0\n"
         "    routes: [{cluster: c}]\n"
         "clusters:\n"
         "  - name: c\n"
         "    endpoints: [127.0.0.1:1]\n" +
         cluster_lines;
}

}  // namespace remora::config::testing
