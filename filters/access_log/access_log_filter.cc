// The `access_log` filter: `{format: text | json, path: FILE}` (path defaults to stdout).
#include "filters/access_log/access_log_filter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "config/yaml_reader.h"

namespace remora::filters {

namespace {

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char esc[8];
          snprintf(esc, sizeof(esc), "\\u%04x", c);
          out += esc;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Text fields are quoted; quotes and control bytes inside them are escaped so a line stays a line.
void appendQuoted(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "\"-\"";
    return;
  }
  appendJsonString(out, s);
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  auto since = t.time_since_epoch();
  time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  int millis =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000);
  tm utc;
  gmtime_r(&secs, &utc);
  char buf[40];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof(buf) - n, ".%03dZ", millis);
  return buf;
}

class AccessLogFactory;

class AccessLogFilter : public Filter {
 public:
  explicit AccessLogFilter(const AccessLogFactory& factory) : factory_(factory) {}
  void onComplete(const StreamInfo& info) override;

 private:
  const AccessLogFactory& factory_;
};

class AccessLogFactory : public FilterFactory {
 public:
  AccessLogFactory(int fd, bool owns_fd, bool json) : fd_(fd), owns_fd_(owns_fd), json_(json) {}
  ~AccessLogFactory() override {
    if (owns_fd_) close(fd_);
  }
  std::unique_ptr<Filter> create(StreamContext&) const override {
    return std::make_unique<AccessLogFilter>(*this);
  }
  void write(const StreamInfo& info) const {
    std::string line = formatAccessLogLine(info, json_);
    // O_APPEND and one write per line keep lines from several workers whole.
    ssize_t ignored = ::write(fd_, line.data(), line.size());
    (void)ignored;
  }

 private:
  int fd_;
  bool owns_fd_;
  bool json_;
};

void AccessLogFilter::onComplete(const StreamInfo& info) { factory_.write(info); }

}  // namespace

std::string formatAccessLogLine(const StreamInfo& info, bool json) {
  const double duration_ms = std::chrono::duration<double, std::milli>(info.duration).count();
  char number[32];
  snprintf(number, sizeof(number), "%.3f", duration_ms);
  std::string out;
  out.reserve(256);
  if (json) {
    auto field = [&](const char* name, std::string_view value) {
      out += out.size() == 1 ? "\"" : ",\"";
      out += name;
      out += "\":";
      appendJsonString(out, value);
    };
    auto numberField = [&](const char* name, std::string_view value) {
      out += ",\"";
      out += name;
      out += "\":";
      out += value;
    };
    out += '{';
    field("start_time", isoTime(info.start_time));
    field("listener", info.listener);
    field("method", info.method);
    field("authority", info.authority);
    field("path", info.path);
    field("protocol", info.protocol);
    numberField("status", std::to_string(info.status));
    field("grpc_status", info.grpc_status);
    numberField("bytes_received", std::to_string(info.request_body_bytes));
    numberField("bytes_sent", std::to_string(info.response_body_bytes));
    numberField("duration_ms", number);
    field("downstream_address", info.downstream_address);
    field("cluster", info.cluster);
    field("upstream_address", info.upstream_address);
    numberField("retries", std::to_string(info.retries));
    field("request_id", info.request_id);
    field("user_agent", info.user_agent);
    field("local_reason", info.local_reason);
    out += "}\n";
    return out;
  }
  out += '[';
  out += isoTime(info.start_time);
  out += "] ";
  // Escaped like the other fields: a quote in a request target must not end the field.
  appendQuoted(out, info.method + " " + info.path + " " + info.protocol);
  out += ' ';
  out += std::to_string(info.status);
  out += ' ';
  out += std::to_string(info.request_body_bytes);
  out += ' ';
  out += std::to_string(info.response_body_bytes);
  out += ' ';
  out += number;
  out += ' ';
  appendQuoted(out, info.downstream_address);
  out += ' ';
  appendQuoted(out, info.authority);
  out += ' ';
  appendQuoted(out, info.cluster);
  out += ' ';
  appendQuoted(out, info.upstream_address);
  out += ' ';
  appendQuoted(out, info.request_id);
  out += ' ';
  appendQuoted(out, info.user_agent);
  out += ' ';
  appendQuoted(out, info.local_reason);
  out += '\n';
  return out;
}

Result<std::shared_ptr<const FilterFactory>> createAccessLogFilterFactory(
    const config::FilterConfig& config) {
  config::YamlReader reader(config.location.file);
  bool json = false;
  std::string path;
  SourceLocation path_where = config.location;
  const config::Located root{config.config, config.location};
  if (config.config && !config.config.IsNull()) {
    if (auto fields = reader.mapping(root, "access_log filter", {"format", "path"})) {
      if (const config::Field* f = fields->find("format")) {
        if (auto format = reader.string(f->value, "format")) {
          json = *format == "json";
          if (!json && *format != "text") {
            reader.error(f->value.where, "access_log format must be text or json");
          }
        }
      }
      if (const config::Field* f = fields->find("path")) {
        if (auto value = reader.nonEmptyString(f->value, "path")) path = *value;
        path_where = f->value.where;
      }
    }
  }
  std::vector<Error> errors = reader.takeErrors();
  if (!errors.empty()) return errors;
  if (path.empty() || path == "-" || path == "/dev/stdout") {
    return std::shared_ptr<const FilterFactory>(
        std::make_shared<AccessLogFactory>(STDOUT_FILENO, false, json));
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error{path_where, "access_log: cannot open '" + path + "': " + std::strerror(errno)};
  }
  return std::shared_ptr<const FilterFactory>(std::make_shared<AccessLogFactory>(fd, true, json));
}

}  // namespace remora::filters
