// Listener reading: address, limits, timeouts, protocol, TLS, trust, filters, and its routes.
#include "config/listener_reader.h"

#include <map>

#include "config/address.h"
#include "config/field_readers.h"
#include "config/filter_list_reader.h"
#include "config/route_reader.h"
#include "config/tls_reader.h"

namespace remora::config {
namespace {

// Less than a KiB could not hold even a small JSON body for a filter to look at.
constexpr uint64_t kMinBufferedBodyBytes = 1024;
constexpr uint64_t kMaxBufferedBodyBytes = uint64_t{1} << 30;

void readHttp2(YamlReader& reader, const Located& at, Http2Settings& out) {
  std::optional<Fields> fields = reader.mapping(
      at, "http2",
      {"max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size"});
  if (!fields) return;
  readInteger(reader, *fields, "max_concurrent_streams", 1, kMaxUint32, out.max_concurrent_streams);
  // RFC 9113 6.9.2: windows start at 65,535 and cannot exceed 2^31-1.
  constexpr uint64_t kMinWindow = 65535;
  constexpr uint64_t kMaxWindow = (uint64_t{1} << 31) - 1;
  for (auto [key, value] :
       {std::pair{"initial_stream_window_size", &out.initial_stream_window_size},
        std::pair{"initial_connection_window_size", &out.initial_connection_window_size}}) {
    if (const Field* f = fields->find(key)) {
      if (auto size = reader.size(f->value, key, kMinWindow, kMaxWindow)) {
        *value = static_cast<uint32_t>(*size);
      }
    }
  }
}

}  // namespace

void readListeners(YamlReader& reader, const Located& at, const std::optional<Service>& service,
                   std::vector<Listener>& out, References& cluster_refs) {
  std::optional<std::vector<Located>> items = reader.sequence(at, "listeners");
  if (!items) return;
  UniqueNames names("listener name");
  std::map<std::string, SourceLocation> addresses;
  for (const Located& item : *items) {
    std::optional<Fields> fields = reader.mapping(
        item, "listener",
        {"name", "address", "filters", "routes", "virtual_hosts", "max_request_headers_bytes",
         "max_request_headers_count", "request_header_timeout", "idle_timeout", "max_connections",
         "protocol", "http2", "tls", "stream_idle_timeout", "trusted", "max_buffered_body_bytes"});
    if (!fields) continue;
    Listener listener;
    reader.require(*fields, "listener", "name");
    reader.require(*fields, "listener", "address");
    if (const Field* f = fields->find("name")) {
      if (auto name = reader.nonEmptyString(f->value, "name")) {
        listener.name = *name;
        names.add(reader, *name, f->value.where);
      }
    }
    if (const Field* f = fields->find("address")) {
      if (auto address = reader.address(f->value, "address")) {
        listener.address = *address;
        // Port 0 asks the kernel for a free port, so several such listeners never collide.
        if (address->port != 0) {
          auto [it, inserted] = addresses.emplace(address->text(), f->value.where);
          if (!inserted) {
            reader.error(f->value.where, "duplicate listener address '" + address->text() +
                                             "' (first at " + lineCol(it->second) + ")");
          }
        }
      }
    }
    if (const Field* f = fields->find("filters")) {
      readFilterList(reader, f->value, listener.filters);
    }
    const Field* routes = fields->find("routes");
    const Field* virtual_hosts = fields->find("virtual_hosts");
    if (routes != nullptr && virtual_hosts != nullptr) {
      reader.error(fields->where(), "listener has both routes and virtual_hosts; use one");
    } else if (routes == nullptr && virtual_hosts == nullptr) {
      reader.error(fields->where(), "listener needs routes or virtual_hosts");
    }
    RouteReader route_reader(reader, cluster_refs);
    if (routes != nullptr) {
      VirtualHost host{listener.name, {"*"}, {}};
      route_reader.readRoutes(routes->value, host.routes);
      listener.virtual_hosts.push_back(std::move(host));
    }
    if (virtual_hosts != nullptr) {
      route_reader.readVirtualHosts(virtual_hosts->value, listener.virtual_hosts);
    }
    readSize(reader, *fields, "max_request_headers_bytes", 1, kMaxHeadersBytes,
             listener.max_request_headers_bytes);
    readInteger(reader, *fields, "max_request_headers_count", 1, kMaxUint32,
                listener.max_request_headers_count);
    readDuration(reader, *fields, "request_header_timeout", listener.request_header_timeout);
    readDuration(reader, *fields, "idle_timeout", listener.idle_timeout);
    readInteger(reader, *fields, "max_connections", 1, kMaxUint32, listener.max_connections);
    if (const Field* f = fields->find("protocol")) {
      readProtocol(reader, f->value, listener.protocol);
    }
    if (const Field* f = fields->find("http2")) readHttp2(reader, f->value, listener.http2);
    if (const Field* f = fields->find("tls")) listener.tls = readTlsServer(reader, *f);
    readDuration(reader, *fields, "stream_idle_timeout", listener.stream_idle_timeout);
    listener.trusted =
        isLoopback(listener.address) || (service && listener.address.port == service->port);
    if (const Field* f = fields->find("trusted")) {
      if (auto trusted = reader.boolean(f->value, "trusted")) listener.trusted = *trusted;
    }
    readSize(reader, *fields, "max_buffered_body_bytes", kMinBufferedBodyBytes,
             kMaxBufferedBodyBytes, listener.max_buffered_body_bytes);
    out.push_back(std::move(listener));
  }
}

}  // namespace remora::config
