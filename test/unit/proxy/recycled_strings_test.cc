// Unit tests of the recycled strings: which buffers are kept, and that a kept one serves the next
// assignment without showing its old text.
#include "proxy/recycled_strings.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "proxy/per_thread_pool.h"

namespace remora {
namespace {

// Each in a thread of its own, so that the pool starts empty. Nothing is kept under
// AddressSanitizer.
TEST(RecycledStringsTest, KeepsHeapBuffersUpTo512BytesAndAtMost64) {
  std::thread([] {
    std::string inline_text = "short";
    keepForRecycling(inline_text);
    std::string huge(600, 'x');
    keepForRecycling(huge);
    EXPECT_EQ(keptStrings(), 0u);
    EXPECT_EQ(huge.size(), 600u);  // not kept: left as it was
    std::vector<std::string> paths(70, std::string(100, 'p'));
    for (std::string& path : paths) keepForRecycling(path);
    EXPECT_EQ(keptStrings(), REMORA_RECYCLE_MEMORY ? 64u : 0u);
    EXPECT_EQ(paths.front().empty(), REMORA_RECYCLE_MEMORY == 1);
  }).join();
}

TEST(RecycledStringsTest, AssignmentTakesAKeptBufferOnlyWhenItNeedsRoom) {
  std::thread([] {
    std::string old_path(200, 'o');
    keepForRecycling(old_path);
    std::string small;
    assignRecycled(small, "/");
    EXPECT_EQ(keptStrings(), REMORA_RECYCLE_MEMORY ? 1u : 0u);
    std::string path;
    assignRecycled(path, "/api/v1/orders/12345?expand=items");
    EXPECT_EQ(path, "/api/v1/orders/12345?expand=items");
    EXPECT_EQ(keptStrings(), 0u);
    EXPECT_GE(path.capacity(), REMORA_RECYCLE_MEMORY ? 200u : path.size());
  }).join();
}

}  // namespace
}  // namespace remora
