// Non-blocking socket I/O between the kernel and evbuffers, on the worker's loop.
#include "proxy/transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace remora {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
}

Transport::Transport(event_base* base, TransportCallbacks& callbacks) : Transport(base) {
  callbacks_ = &callbacks;
}

Transport::Transport(event_base* base)
    : base_(base),
      callbacks_(nullptr),
      input_(evbuffer_new()),
      output_(evbuffer_new()),
      flush_event_(event_new(base, -1, 0, &Transport::onFlushEvent, this)) {
  evbuffer_add_cb(output_, &Transport::onOutputChanged, this);
  evbuffer_add_cb(input_, &Transport::onInputChanged, this);
}

Transport::~Transport() {
  if (read_event_ != nullptr) event_free(read_event_);
  if (write_event_ != nullptr) event_free(write_event_);
  event_free(flush_event_);
  evbuffer_free(input_);
  evbuffer_free(output_);
  if (fd_ >= 0) close(fd_);
}

void Transport::start() {
  read_event_ = event_new(base_, fd_, EV_READ | EV_PERSIST, &Transport::onReadEvent, this);
  write_event_ = event_new(base_, fd_, EV_WRITE | EV_PERSIST, &Transport::onWriteEvent, this);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void Transport::attach(int fd) {
  fd_ = fd;
  connected_ = true;
  start();
  updateReadInterest();
}

bool Transport::connect(const sockaddr* address, socklen_t length) {
  fd_ = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  start();
  if (::connect(fd_, address, length) == 0) {
    connected_ = true;
    updateReadInterest();
    return true;
  }
  if (errno != EINPROGRESS) return false;
  connecting_ = true;
  writing_ = true;
  event_add(write_event_, nullptr);
  return true;
}

void Transport::enableRead(bool enable) {
  read_wanted_ = enable;
  updateReadInterest();
}

void Transport::updateReadInterest() {
  if (read_event_ == nullptr || failed_) return;
  const bool want =
      read_wanted_ && connected_ && !eof_ && evbuffer_get_length(input_) < read_limit_;
  if (want == reading_) return;
  reading_ = want;
  if (want) {
    event_add(read_event_, nullptr);
  } else {
    event_del(read_event_);
  }
}

void Transport::shutdownWrite() {
  shutdown_pending_ = true;
  if (evbuffer_get_length(output_) == 0 && connected_) shutdown(fd_, SHUT_WR);
}

void Transport::silence() {
  callbacks_ = nullptr;
  if (read_event_ != nullptr) event_del(read_event_);
  if (write_event_ != nullptr) event_del(write_event_);
  event_del(flush_event_);
  reading_ = writing_ = false;
  failed_ = true;
}

void Transport::onOutputChanged(evbuffer*, const evbuffer_cb_info* info, void* self) {
  auto* transport = static_cast<Transport*>(self);
  if (info->n_added == 0 || transport->flush_pending_ || transport->failed_) return;
  transport->flush_pending_ = true;
  event_active(transport->flush_event_, 0, 0);
}

void Transport::onInputChanged(evbuffer*, const evbuffer_cb_info* info, void* self) {
  auto* transport = static_cast<Transport*>(self);
  if (info->n_deleted > 0 && !transport->reading_) transport->updateReadInterest();
}

void Transport::onFlushEvent(evutil_socket_t, short, void* self) {
  auto* transport = static_cast<Transport*>(self);
  transport->flush_pending_ = false;
  transport->flush();
}

void Transport::onReadEvent(evutil_socket_t, short, void* self) {
  auto* transport = static_cast<Transport*>(self);
  // Read into a per-thread scratch area and append what came: reserving a large chain in the
  // evbuffer instead would allocate and free 64 KiB for every small request.
  thread_local char scratch[kReadChunk];
  // recv/send rather than read/writev: the socket calls skip the VFS layer.
  const ssize_t n = recv(transport->fd_, scratch, sizeof(scratch), 0);
  if (n > 0) {
    evbuffer_add(transport->input_, scratch, static_cast<size_t>(n));
    transport->updateReadInterest();
    if (transport->callbacks_ != nullptr) transport->callbacks_->onReadable();
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  transport->failed_ = n < 0;
  transport->eof_ = true;
  event_del(transport->read_event_);
  transport->reading_ = false;
  transport->read_wanted_ = false;
  if (transport->callbacks_ != nullptr) transport->callbacks_->onTransportClosed(n < 0);
}

void Transport::onWriteEvent(evutil_socket_t, short, void* self) {
  auto* transport = static_cast<Transport*>(self);
  if (transport->connecting_) {
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(transport->fd_, SOL_SOCKET, SO_ERROR, &error, &length);
    transport->connecting_ = false;
    if (error != 0) {
      errno = error;
      transport->fail();
      return;
    }
    transport->connected_ = true;
    transport->updateReadInterest();
    if (transport->callbacks_ != nullptr) transport->callbacks_->onConnected();
  }
  transport->flush();
}

void Transport::flush() {
  if (!connected_ || failed_) return;
  const size_t before = evbuffer_get_length(output_);
  if (before > 0) {
    const ssize_t n = sendSome();
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      fail();
      return;
    }
  }
  const size_t after = evbuffer_get_length(output_);
  if (after > 0 && !writing_) {
    writing_ = true;
    event_add(write_event_, nullptr);
  } else if (after == 0 && writing_) {
    writing_ = false;
    event_del(write_event_);
  }
  if (after == 0 && shutdown_pending_) shutdown(fd_, SHUT_WR);
  if (after < before && after <= write_low_ && callbacks_ != nullptr) {
    callbacks_->onWriteDrained();
  }
}

ssize_t Transport::sendSome() {
  constexpr int kMaxVecs = 16;
  evbuffer_iovec vecs[kMaxVecs];
  const int count = evbuffer_peek(output_, -1, nullptr, vecs, kMaxVecs);
  if (count <= 0) return 0;
  ssize_t n;
  if (count == 1) {
    n = send(fd_, vecs[0].iov_base, vecs[0].iov_len, MSG_NOSIGNAL);
  } else {
    msghdr message{};
    message.msg_iov = reinterpret_cast<iovec*>(vecs);
    message.msg_iovlen = static_cast<size_t>(std::min(count, kMaxVecs));
    n = sendmsg(fd_, &message, MSG_NOSIGNAL);
  }
  if (n > 0) evbuffer_drain(output_, static_cast<size_t>(n));
  return n;
}

void Transport::fail() {
  failed_ = true;
  if (read_event_ != nullptr) event_del(read_event_);
  if (write_event_ != nullptr) event_del(write_event_);
  reading_ = writing_ = false;
  if (callbacks_ != nullptr) callbacks_->onTransportClosed(true);
}

}  // namespace remora
