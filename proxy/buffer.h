// Buffer: an owned libevent evbuffer, the unit in which bodies move through filters and codecs.
#pragma once

#include <event2/buffer.h>

#include <string>
#include <string_view>

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
  // Copies every byte of `other` to the end of this buffer, in one piece; `other` keeps them.
  // (Not evbuffer_add_buffer_reference: it refuses a source that is itself made of references.)
  void appendCopyOf(const Buffer& other) {
    const size_t length = other.length();
    if (length == 0) return;
    evbuffer_iovec extent;
    if (evbuffer_reserve_space(buf_, static_cast<ev_ssize_t>(length), &extent, 1) != 1) return;
    evbuffer_copyout(other.buf_, extent.iov_base, length);
    extent.iov_len = length;
    evbuffer_commit_space(buf_, &extent, 1);
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
