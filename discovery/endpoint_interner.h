// EndpointInterner: the metadata and texts that snapshots' endpoints share with each other and
// with the previous snapshot's, so that a rebuild allocates only for what changed.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "config/config.h"

namespace remora::discovery {

class EndpointInterner {
 public:
  // The shared copy of `meta` (one per distinct value).
  std::shared_ptr<const config::Metadata> metadata(const config::Metadata& meta);
  // The shared copy of `text` (one per distinct value).
  std::shared_ptr<const std::string> text(std::string_view text);

  // Forgets the values that no snapshot holds any more (endpoints that left, old reasons). A
  // value still held by a snapshot a worker has not let go of yet is kept until a later sweep.
  void sweep();
  size_t size() const { return metadata_.size() + texts_.size(); }

 private:
  struct MetadataHash {
    using is_transparent = void;
    size_t operator()(const config::Metadata& meta) const;
    size_t operator()(const std::shared_ptr<const config::Metadata>& meta) const {
      return (*this)(*meta);
    }
  };
  struct MetadataEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return deref(a) == deref(b);
    }
    static const config::Metadata& deref(const config::Metadata& meta) { return meta; }
    static const config::Metadata& deref(const std::shared_ptr<const config::Metadata>& meta) {
      return *meta;
    }
  };
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
    size_t operator()(const std::shared_ptr<const std::string>& text) const {
      return (*this)(std::string_view(*text));
    }
  };
  struct TextEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return view(a) == view(b);
    }
    static std::string_view view(std::string_view text) { return text; }
    static std::string_view view(const std::shared_ptr<const std::string>& text) { return *text; }
  };

  std::unordered_set<std::shared_ptr<const config::Metadata>, MetadataHash, MetadataEqual>
      metadata_;
  std::unordered_set<std::shared_ptr<const std::string>, TextHash, TextEqual> texts_;
};

}  // namespace remora::discovery
