// Tests for the probe listener's allow-list: its three paths read-only, nothing else.
#include "admin/probe_access.h"

#include <gtest/gtest.h>

namespace remora::admin {
namespace {

TEST(ProbeAccessTest, ServesItsPathsToGetAndHead) {
  for (const char* path : {"/ready", "/healthz", "/metrics"}) {
    EXPECT_EQ(probeVerdict(EVHTTP_REQ_GET, path), ProbeVerdict::kServe) << path;
    EXPECT_EQ(probeVerdict(EVHTTP_REQ_HEAD, path), ProbeVerdict::kServe) << path;
  }
}

TEST(ProbeAccessTest, OtherMethodsOnItsPathsAreNotAllowed) {
  for (evhttp_cmd_type method : {EVHTTP_REQ_POST, EVHTTP_REQ_PUT, EVHTTP_REQ_DELETE,
                                 EVHTTP_REQ_OPTIONS, EVHTTP_REQ_PATCH, EVHTTP_REQ_TRACE}) {
    EXPECT_EQ(probeVerdict(method, "/ready"), ProbeVerdict::kMethodNotAllowed) << method;
  }
}

TEST(ProbeAccessTest, TheFullAdminsPathsAreNotFound) {
  for (const char* path :
       {"/quitquitquit", "/drain", "/healthcheck/fail", "/healthcheck/ok", "/clusters",
        "/config_dump", "/explain", "/canaries", "/", "/app.js", "/help"}) {
    EXPECT_EQ(probeVerdict(EVHTTP_REQ_POST, path), ProbeVerdict::kNotFound) << path;
    EXPECT_EQ(probeVerdict(EVHTTP_REQ_GET, path), ProbeVerdict::kNotFound) << path;
  }
}

TEST(ProbeAccessTest, OnlyExactPathsMatch) {
  // The path as sent (evhttp does not decode it), without the query.
  for (const char* path : {"/ready/", "/READY", "/metrics/x", "//ready", "/healthz.", ""}) {
    EXPECT_EQ(probeVerdict(EVHTTP_REQ_GET, path), ProbeVerdict::kNotFound) << path;
  }
}

}  // namespace
}  // namespace remora::admin
