// Buffer: an owned libevent evbuffer, the unit in which bodies move through filters and codecs.
#pragma once

#include <event2/buffer.h>

#include <string>
#include <string_view>
#include <vector>

namespace remora {

class Buffer {
 public:
  Buffer() : buf_(evbuffer_new()) {}
  ~Buffer() { evbuffer_free(buf_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  size_t length() const { return evbuffer_get_length(buf_); }
  bool empty() const { return length() == 0; }
  void add(std::string_view data) { evbuffer_add(buf_, data.data(), data.size()); }
  // Moves every byte of `other` to the end of this buffer without copying.
  void move(Buffer& other) { evbuffer_add_buffer(buf_, other.buf_); }
  void drain(size_t n) { evbuffer_drain(buf_, n); }
  // Copies every byte of `other` to the end of this buffer; `other` keeps them.
  void appendCopyOf(const Buffer& other) {
    const int chunks = evbuffer_peek(other.buf_, -1, nullptr, nullptr, 0);
    if (chunks <= 0) return;
    std::vector<evbuffer_iovec> vec(static_cast<size_t>(chunks));
    evbuffer_peek(other.buf_, -1, nullptr, vec.data(), chunks);
    for (const evbuffer_iovec& chunk : vec) evbuffer_add(buf_, chunk.iov_base, chunk.iov_len);
  }
  std::string toString() const {
    std::string out(length(), '\0');
    evbuffer_copyout(buf_, out.data(), out.size());
    return out;
  }
  evbuffer* raw() { return buf_; }

 private:
  evbuffer* buf_;
};

}  // namespace remora
