// Non-blocking socket I/O between the kernel and evbuffers, on the worker's loop, in plaintext or
// through OpenSSL.
#include "proxy/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/event_time.h"
#include "proxy/flush_batch.h"
#include "proxy/log.h"
#include "proxy/tls_context.h"

namespace remora {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
// One TLS record's worth of plaintext per SSL_write: full records, and a bounded pullup.
constexpr size_t kTlsRecordBytes = 16 * 1024;

// Reads land in a per-thread scratch area and what came is appended: reserving a large chain in
// the evbuffer instead would allocate and free 64 KiB for every small request.
thread_local char scratch[kReadChunk];

// A peer that closes TCP without close_notify: treated as a plain EOF, as over plaintext (HTTP
// framing, not TLS, tells whether a message was cut short).
bool isUnexpectedEof(int ssl_error) {
  if (ssl_error == SSL_ERROR_SYSCALL) return errno == 0 && ERR_peek_error() == 0;
  return ssl_error == SSL_ERROR_SSL &&
         ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}
}  // namespace

Transport::Transport(event_base* base, TransportCallbacks& callbacks) : Transport(base) {
  callbacks_ = &callbacks;
}

Transport::Transport(event_base* base)
    : base_(base),
      callbacks_(nullptr),
      input_(evbuffer_new()),
      output_(evbuffer_new()),
      flush_event_(event_new(base, -1, 0, &Transport::onFlushEvent, this)) {}

void Transport::watchInputDrain(bool watch) {
  if (watch == (input_watch_ != nullptr)) return;
  if (watch) {
    input_watch_ = evbuffer_add_cb(input_, &Transport::onInputChanged, this);
  } else {
    evbuffer_remove_cb_entry(input_, input_watch_);
    input_watch_ = nullptr;
  }
}

Transport::~Transport() {
  if (in_flush_batch_) FlushBatch::forget(this);
  if (read_event_ != nullptr) event_free(read_event_);
  if (write_event_ != nullptr) event_free(write_event_);
  if (handshake_timer_ != nullptr) event_free(handshake_timer_);
  event_free(flush_event_);
  evbuffer_free(input_);
  evbuffer_free(output_);
  // No close_notify here: a graceful close went through shutdownWrite() already.
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
}

void Transport::start() {
  read_event_ = event_new(base_, fd_, EV_READ | EV_PERSIST, &Transport::onReadEvent, this);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

event* Transport::writeEvent() {
  if (write_event_ == nullptr) {
    write_event_ = event_new(base_, fd_, EV_WRITE | EV_PERSIST, &Transport::onWriteEvent, this);
  }
  return write_event_;
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
  const int rc = ::connect(fd_, address, length);
  if (rc == 0 && ssl_ == nullptr) {
    connected_ = true;
    updateReadInterest();
    return true;
  }
  if (rc != 0 && errno != EINPROGRESS) return false;
  // In TLS mode even an immediate connect goes through the write event, so the handshake (and
  // any failure it reports) starts from the loop, never inside the caller.
  connecting_ = true;
  writing_ = true;
  event_add(writeEvent(), nullptr);
  return true;
}

void Transport::enableRead(bool enable) {
  read_wanted_ = enable;
  updateReadInterest();
}

void Transport::updateReadInterest() {
  if (ssl_ != nullptr) return tlsUpdateInterest();
  if (read_event_ == nullptr || failed_) return;
  const bool may_read = read_wanted_ && connected_ && !eof_;
  const bool at_limit = evbuffer_get_length(input_) >= read_limit_;
  watchInputDrain(may_read && at_limit);
  const bool want = may_read && !at_limit;
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
  if (ssl_ != nullptr) {
    tlsShutdownIfDone();
    tlsUpdateInterest();
    return;
  }
  if (evbuffer_get_length(output_) == 0 && connected_) shutdown(fd_, SHUT_WR);
}

void Transport::silence() {
  callbacks_ = nullptr;
  if (read_event_ != nullptr) event_del(read_event_);
  if (write_event_ != nullptr) event_del(write_event_);
  if (handshake_timer_ != nullptr) event_del(handshake_timer_);
  event_del(flush_event_);
  reading_ = writing_ = false;
  failed_ = true;
}

void Transport::closeNow() {
  silence();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  connected_ = false;
}

void Transport::flushSoon() {
  if (flush_pending_ || failed_ || evbuffer_get_length(output_) == 0) return;
  flush_pending_ = true;
  if (!FlushBatch::queue(this)) event_active(flush_event_, 0, 0);
}

void Transport::flushQueued() {
  flush_pending_ = false;
  flush();
}

void Transport::onInputChanged(evbuffer*, const evbuffer_cb_info* info, void* self) {
  auto* transport = static_cast<Transport*>(self);
  // In TLS mode reading may be on for a write's sake only, and OpenSSL may hold decrypted bytes.
  if (info->n_deleted > 0 && (!transport->reading_ || transport->ssl_ != nullptr)) {
    transport->updateReadInterest();
  }
}

void Transport::onFlushEvent(evutil_socket_t, short, void* self) {
  static_cast<Transport*>(self)->flushQueued();
}

void Transport::onReadEvent(evutil_socket_t, short, void* self) {
  // Whatever this read makes the codecs write, to this or another transport, goes out as it ends.
  FlushBatch batch;
  auto* transport = static_cast<Transport*>(self);
  if (transport->ssl_ != nullptr) {
    if (transport->handshaking_) return transport->tlsHandshake();
    if (transport->write_wants_read_) transport->tlsFlush();
    if (!transport->failed_) transport->tlsRead();
    return;
  }
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
  FlushBatch batch;
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
    if (transport->ssl_ != nullptr) {
      transport->handshaking_ = true;
      return transport->tlsHandshake();
    }
    transport->connected_ = true;
    transport->updateReadInterest();
    if (transport->callbacks_ != nullptr) transport->callbacks_->onConnected();
  }
  if (transport->ssl_ != nullptr) {
    if (transport->handshaking_) return transport->tlsHandshake();
    if (transport->read_wants_write_) transport->tlsRead();
    if (!transport->failed_) transport->tlsFlush();
    return;
  }
  transport->flush();
}

void Transport::flush() {
  if (ssl_ != nullptr) return tlsFlush();
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
    event_add(writeEvent(), nullptr);
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
  if (handshake_timer_ != nullptr) event_del(handshake_timer_);
  reading_ = writing_ = false;
  if (callbacks_ != nullptr) callbacks_->onTransportClosed(true);
}

// ---- TLS mode ----

bool Transport::prepareSsl(SSL_CTX* context) {
  ERR_clear_error();
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr) {
    tls_error_ = tlsErrorReason("cannot create an SSL object");
    return false;
  }
  watchInputDrain(true);
  return true;
}

bool Transport::attachTls(int fd, SSL_CTX* context, std::chrono::milliseconds handshake_timeout) {
  fd_ = fd;
  if (!prepareSsl(context) || SSL_set_fd(ssl_, fd_) != 1) {
    if (tls_error_.empty()) tls_error_ = tlsErrorReason();
    return false;
  }
  SSL_set_accept_state(ssl_);
  start();
  // The client speaks first; the handshake runs from the loop once its hello is readable.
  handshaking_ = true;
  handshake_wants_read_ = true;
  if (handshake_timeout.count() > 0) {
    handshake_timer_ = evtimer_new(base_, &Transport::onHandshakeTimeout, this);
    const timeval timeout = toTimeval(handshake_timeout);
    evtimer_add(handshake_timer_, &timeout);
  }
  tlsUpdateInterest();
  return true;
}

bool Transport::connectTls(const sockaddr* address, socklen_t length, SSL_CTX* context,
                           std::string_view sni) {
  if (!prepareSsl(context)) {
    errno = ENOMEM;
    return false;
  }
  SSL_set_connect_state(ssl_);
  if (!sni.empty()) {
    const std::string name(sni);
    unsigned char ip[sizeof(in6_addr)];
    if (inet_pton(AF_INET, name.c_str(), ip) == 1 || inet_pton(AF_INET6, name.c_str(), ip) == 1) {
      // SNI carries host names only; an address is checked against the certificate's IP SANs.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, name.c_str());
      SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (SSL_set1_host(ssl_, name.c_str()) != 1) {
        tls_error_ = tlsErrorReason("bad sni");
        errno = EINVAL;
        return false;
      }
    }
  }
  if (!connect(address, length)) return false;
  if (SSL_set_fd(ssl_, fd_) != 1) {
    tls_error_ = tlsErrorReason();
    errno = ENOMEM;
    return false;
  }
  return true;
}

std::string_view Transport::negotiatedProtocol() const {
  if (ssl_ == nullptr) return {};
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  if (data == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(data), length);
}

void Transport::onHandshakeTimeout(evutil_socket_t, short, void* self) {
  auto* transport = static_cast<Transport*>(self);
  if (transport->handshaking_ && !transport->failed_) {
    transport->tlsFail("TLS handshake timed out");
  }
}

bool Transport::tlsRetryable(int ssl_error, bool& want_read, bool& want_write) {
  switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
      want_read = true;
      return true;
    case SSL_ERROR_WANT_WRITE:
      want_write = true;
      return true;
    case SSL_ERROR_SYSCALL:
      tls_error_ = errno != 0 ? std::strerror(errno) : tlsErrorReason("connection closed by peer");
      ERR_clear_error();
      return false;
    default:
      tls_error_ = tlsErrorReason();
      return false;
  }
}

void Transport::tlsHandshake() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshaking_ = false;
    handshake_wants_read_ = handshake_wants_write_ = false;
    connected_ = true;
    if (handshake_timer_ != nullptr) event_del(handshake_timer_);
    tlsUpdateInterest();
    if (callbacks_ != nullptr) callbacks_->onConnected();
    // Application data may have come with the handshake's last flight, and the output may
    // hold what was written while it ran.
    if (!failed_) tlsRead();
    if (!failed_) tlsFlush();
    return;
  }
  const int code = SSL_get_error(ssl_, rc);
  handshake_wants_read_ = handshake_wants_write_ = false;
  if (tlsRetryable(code, handshake_wants_read_, handshake_wants_write_)) {
    tlsUpdateInterest();
    return;
  }
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    tls_error_ += std::string(": ") + X509_verify_cert_error_string(verify);
  }
  tlsFail("TLS handshake failed: " + tls_error_);
}

void Transport::tlsRead() {
  read_wants_write_ = false;
  bool got = false;
  bool closed = false;
  bool error = false;
  while (read_wanted_ && !eof_ && !failed_ && evbuffer_get_length(input_) < read_limit_) {
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_read_ex(ssl_, scratch, sizeof(scratch), &n);
    if (rc == 1) {
      evbuffer_add(input_, scratch, n);
      got = true;
      continue;
    }
    const int code = SSL_get_error(ssl_, rc);
    if (code == SSL_ERROR_ZERO_RETURN || isUnexpectedEof(code)) {
      ERR_clear_error();
      closed = true;
      break;
    }
    bool want_read = false;
    if (tlsRetryable(code, want_read, read_wants_write_)) break;
    LOG_DEBUG("TLS read failed: %s", tls_error_.c_str());
    closed = error = true;
    break;
  }
  if (closed) {
    eof_ = true;
    read_wanted_ = false;
    if (error) {
      failed_ = true;
      event_del(read_event_);
      if (write_event_ != nullptr) event_del(write_event_);
      reading_ = writing_ = false;
    }
  }
  tlsUpdateInterest();
  // Bytes first, then the close, as two plaintext reads would report them.
  if (got && callbacks_ != nullptr) callbacks_->onReadable();
  if (closed && callbacks_ != nullptr) callbacks_->onTransportClosed(error);
}

void Transport::tlsFlush() {
  if (!connected_ || failed_) return;
  write_wants_read_ = write_wants_write_ = false;
  const size_t before = evbuffer_get_length(output_);
  size_t left = before;
  while (left > 0) {
    const size_t chunk = std::min(left, kTlsRecordBytes);
    const unsigned char* data = evbuffer_pullup(output_, static_cast<ssize_t>(chunk));
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_write_ex(ssl_, data, chunk, &n);
    if (rc == 1) {
      evbuffer_drain(output_, n);
      left -= n;
      continue;
    }
    const int code = SSL_get_error(ssl_, rc);
    if (!tlsRetryable(code, write_wants_read_, write_wants_write_)) {
      tlsFail("TLS write failed: " + tls_error_);
      return;
    }
    break;
  }
  tlsShutdownIfDone();
  tlsUpdateInterest();
  if (left < before && left <= write_low_ && callbacks_ != nullptr) callbacks_->onWriteDrained();
}

void Transport::tlsShutdownIfDone() {
  if (!shutdown_pending_ || tls_shutdown_sent_ || !connected_ || failed_ ||
      evbuffer_get_length(output_) > 0) {
    return;
  }
  ERR_clear_error();
  const int rc = SSL_shutdown(ssl_);
  if (rc < 0 && SSL_get_error(ssl_, rc) == SSL_ERROR_WANT_WRITE) {
    write_wants_write_ = true;  // close_notify waits in OpenSSL's buffer; retried when writable
    return;
  }
  // Sent, or the socket is gone: either way nothing more goes out but the FIN. The peer's own
  // close_notify is not waited for; the read side reports it as an EOF.
  ERR_clear_error();
  tls_shutdown_sent_ = true;
  shutdown(fd_, SHUT_WR);
}

void Transport::tlsUpdateInterest() {
  if (read_event_ == nullptr || failed_) return;
  bool want_read;
  bool want_write;
  if (connecting_) {
    want_read = false;
    want_write = true;
  } else if (handshaking_) {
    want_read = handshake_wants_read_;
    want_write = handshake_wants_write_;
  } else {
    const bool app_read =
        read_wanted_ && connected_ && !eof_ && evbuffer_get_length(input_) < read_limit_;
    want_read = app_read || write_wants_read_;
    want_write = read_wants_write_ || write_wants_write_;
    // Decrypted bytes OpenSSL holds make the socket no more readable: wake the reader directly.
    if (app_read && SSL_pending(ssl_) > 0) event_active(read_event_, EV_READ, 0);
  }
  if (want_read != reading_) {
    reading_ = want_read;
    if (want_read) {
      event_add(read_event_, nullptr);
    } else {
      event_del(read_event_);
    }
  }
  if (want_write != writing_) {
    writing_ = want_write;
    if (want_write) {
      event_add(writeEvent(), nullptr);
    } else {
      event_del(write_event_);
    }
  }
}

void Transport::tlsFail(std::string reason) {
  tls_error_ = std::move(reason);
  LOG_DEBUG("%s", tls_error_.c_str());
  fail();
}

}  // namespace remora
