// LogSink: lines from several threads reach a file whole, the exit writes out what is waiting,
// and a destination nobody reads costs the producers nothing but dropped lines.
#include "filters/access_log/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace remora::filters {
namespace {

using Clock = std::chrono::steady_clock;

class TempFile {
 public:
  TempFile() {
    char name[] = "/tmp/remora-log-sink-XXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
  std::string read() const {
    std::ifstream in(path_);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

 private:
  std::string path_;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LogSink, LinesOfSeveralThreadsReachTheFileWhole) {
  TempFile file;
  const int fd = open(file.path().c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  auto sink = std::make_unique<LogSink>("test", fd, true);
  constexpr int kThreads = 4;
  constexpr int kLinesEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLinesEach; ++i) {
        sink->append("thread " + std::to_string(t) + " line " + std::to_string(i) + " " +
                     std::string(100, 'x') + "\n");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  sink->stop();
  EXPECT_EQ(sink->dropped(), 0u);
  std::vector<std::string> written = lines(file.read());
  ASSERT_EQ(written.size(), size_t{kThreads * kLinesEach});
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : written) {
    int t = -1;
    int i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "thread %d line %d", &t, &i), 2) << line;
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    EXPECT_EQ(i, next[t]++) << "a thread's lines out of order";
    EXPECT_EQ(line.size(), line.find(' ', line.find("line ") + 5) + 101) << "cut line: " << line;
  }
}

TEST(LogSink, WritesWithinTheFlushInterval) {
  TempFile file;
  const int fd = open(file.path().c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  LogSink sink("test", fd, true);
  sink.append("first\n");
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (file.read() != "first\n" && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(file.read(), "first\n");
}

TEST(LogSink, StopWritesOutWhatIsWaiting) {
  TempFile file;
  const int fd = open(file.path().c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  LogSink sink("test", fd, true);
  for (int i = 0; i < 100; ++i) sink.append("line " + std::to_string(i) + "\n");
  sink.stop();
  EXPECT_EQ(lines(file.read()).size(), 100u);
  sink.append("after the stop\n");  // not written, and it does not block
}

// A pipe whose reader never reads: the writer is stuck, the producer is not.
TEST(LogSink, StuckDestinationDropsLinesWithoutBlockingTheProducer) {
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_EQ(fcntl(pipe_fds[1], F_SETPIPE_SZ, 4096), 4096);
  constexpr size_t kRing = 16 * 1024;  // more than the pipe takes
  auto sink = std::make_unique<LogSink>("pipe", pipe_fds[1], true, kRing);
  const std::string line = std::string(99, 'y') + "\n";
  constexpr int kLines = 5000;  // 500 KB: the pipe and the ring fill up long before
  const auto start = Clock::now();
  for (int i = 0; i < kLines; ++i) sink->append(line);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1)) << "appending blocked";
  EXPECT_GT(sink->dropped(), 0u);

  // The exit gives up on the stuck pipe after its grace time and counts what it could not write.
  const auto stopping = Clock::now();
  sink->stop();
  EXPECT_LT(Clock::now() - stopping, std::chrono::seconds(5));
  EXPECT_GT(sink->dropped(), 0u);
  fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  size_t in_pipe = 0;
  char buffer[65536];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) {
    in_pipe += static_cast<size_t>(n);
  }
  EXPECT_EQ(in_pipe % line.size(), 0u) << "a line was cut";
  EXPECT_EQ(in_pipe / line.size() + sink->dropped(), size_t{kLines});
  sink.reset();
  close(pipe_fds[0]);
}

}  // namespace
}  // namespace remora::filters
