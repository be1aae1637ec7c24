// Decompressing byte sources for the trace readers (see prescient/trace/byte_source.hpp).
//
// Layout: a raw input (file or memory) is read in 256 KiB chunks into the decoder's
// input buffer; the decoder writes straight into the caller's buffer. The first chunk
// is read before choosing a decoder so detection looks at magic bytes, and that chunk
// is handed to the chosen decoder (nothing is read twice, nothing is seeked: pipes work).
#include "prescient/trace/byte_source.hpp"

#include <lzma.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "prescient/trace/error.hpp"

namespace prescient::trace {
namespace {

constexpr std::size_t input_chunk = std::size_t{256} << 10;
constexpr std::uint64_t xz_memory_limit = std::uint64_t{256} << 20;

// --- raw inputs: the bytes as stored --------------------------------------------------

class raw_input {
 public:
  virtual ~raw_input() = default;
  virtual std::size_t read(char* dst, std::size_t n) = 0;  // 0: end of input
};

class file_input final : public raw_input {
 public:
  explicit file_input(const std::filesystem::path& path) : path_(path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw error(path, "cannot open: is a directory");
    file_ = std::fopen(path.c_str(), "rb");
    if (file_ == nullptr) throw error(path, std::string("cannot open: ") + std::strerror(errno));
  }
  file_input(const file_input&) = delete;
  file_input& operator=(const file_input&) = delete;
  ~file_input() override { std::fclose(file_); }

  std::size_t read(char* dst, std::size_t n) override {
    const std::size_t got = std::fread(dst, 1, n, file_);
    if (got < n && std::ferror(file_)) throw error(path_, std::string("read error: ") + std::strerror(errno));
    return got;
  }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

class descriptor_input final : public raw_input {
 public:
  descriptor_input(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  std::size_t read(char* dst, std::size_t n) override {
    std::size_t got = 0;
    while (got < n) {
      const ssize_t k = ::read(fd_, dst + got, n - got);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) throw error(path_, std::string("read error: ") + std::strerror(errno));
      if (k == 0) break;
      got += static_cast<std::size_t>(k);
    }
    return got;
  }

 private:
  int fd_;
  std::filesystem::path path_;
};

class memory_input final : public raw_input {
 public:
  explicit memory_input(std::span<const char> data) : data_(data) {}
  std::size_t read(char* dst, std::size_t n) override {
    const std::size_t k = std::min(n, data_.size());
    if (k != 0) std::memcpy(dst, data_.data(), k);
    data_ = data_.subspan(k);
    return k;
  }

 private:
  std::span<const char> data_;
};

// --- the common part of every source: the raw input and its chunk buffer --------------

class source_base : public byte_source {
 public:
  source_base(std::unique_ptr<raw_input> in, std::filesystem::path path, std::vector<char> first_chunk,
              std::size_t first_len)
      : in_(std::move(in)), path_(std::move(path)), chunk_(std::move(first_chunk)), len_(first_len),
        eof_(first_len == 0) {}

  [[nodiscard]] const std::filesystem::path& path() const noexcept override { return path_; }

 protected:
  // Reads the next chunk once the current one is used up. Returns false at the end.
  bool refill() {
    if (pos_ < len_) return true;
    if (eof_) return false;
    chunk_offset_ += len_;
    pos_ = 0;
    len_ = in_->read(chunk_.data(), chunk_.size());
    if (len_ == 0) eof_ = true;
    return len_ != 0;
  }
  // Offset in the stored (compressed) file of the next byte the decoder would consume.
  [[nodiscard]] std::uint64_t stored_offset() const noexcept { return chunk_offset_ + pos_; }

  std::unique_ptr<raw_input> in_;
  std::filesystem::path path_;
  std::vector<char> chunk_;
  std::size_t pos_ = 0;  // next unread byte of chunk_
  std::size_t len_ = 0;  // valid bytes of chunk_
  std::uint64_t chunk_offset_ = 0;
  bool eof_ = false;
};

class plain_source final : public source_base {
 public:
  using source_base::source_base;
  std::string_view compression() const noexcept override { return "plain"; }
  std::size_t read(std::span<char> out) override {
    if (out.empty()) return 0;
    if (pos_ < len_) {  // what detection already read
      const std::size_t k = std::min(out.size(), len_ - pos_);
      std::memcpy(out.data(), chunk_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    if (eof_) return 0;
    const std::size_t k = in_->read(out.data(), out.size());  // no copy through chunk_
    if (k == 0) eof_ = true;
    return k;
  }
};

// --- xz -------------------------------------------------------------------------------

const char* lzma_message(lzma_ret r) {
  switch (r) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "needs more memory than the 256 MiB limit";
    case LZMA_FORMAT_ERROR: return "not an xz stream (bad header)";
    case LZMA_OPTIONS_ERROR: return "unsupported xz options";
    case LZMA_DATA_ERROR: return "corrupt xz data";
    case LZMA_BUF_ERROR: return "truncated xz stream (unexpected end of file)";
    case LZMA_UNSUPPORTED_CHECK: return "unsupported xz integrity check";
    default: return "xz decoder error";
  }
}

class xz_source final : public source_base {
 public:
  xz_source(std::unique_ptr<raw_input> in, std::filesystem::path path, std::vector<char> chunk, std::size_t len)
      : source_base(std::move(in), std::move(path), std::move(chunk), len) {
    // LZMA_CONCATENATED: `cat a.xz b.xz` is a valid .xz file, as for xz(1).
    const lzma_ret r = lzma_stream_decoder(&strm_, xz_memory_limit, LZMA_CONCATENATED);
    if (r != LZMA_OK) throw error(path_, std::string("xz: ") + lzma_message(r));
    strm_.next_in = reinterpret_cast<const std::uint8_t*>(chunk_.data());  // the detection chunk
    strm_.avail_in = len_;
  }
  xz_source(const xz_source&) = delete;
  xz_source& operator=(const xz_source&) = delete;
  ~xz_source() override { lzma_end(&strm_); }

  std::string_view compression() const noexcept override { return "xz"; }

  std::size_t read(std::span<char> out) override {
    if (done_ || out.empty()) return 0;
    strm_.next_out = reinterpret_cast<std::uint8_t*>(out.data());
    strm_.avail_out = out.size();
    while (strm_.avail_out != 0) {
      if (strm_.avail_in == 0) {
        pos_ = len_;  // the decoder consumed the chunk
        if (refill()) {
          strm_.next_in = reinterpret_cast<const std::uint8_t*>(chunk_.data());
          strm_.avail_in = len_;
        }
      }
      const lzma_ret r = lzma_code(&strm_, eof_ ? LZMA_FINISH : LZMA_RUN);
      if (r == LZMA_STREAM_END) {
        done_ = true;
        break;
      }
      // liblzma counts total_in from the first byte we fed, which is the file's first.
      if (r != LZMA_OK) throw error::at_offset(path_, strm_.total_in, std::string("xz: ") + lzma_message(r));
    }
    return out.size() - strm_.avail_out;
  }

 private:
  lzma_stream strm_ = LZMA_STREAM_INIT;
  bool done_ = false;
};

// --- gzip -----------------------------------------------------------------------------

class gzip_source final : public source_base {
 public:
  gzip_source(std::unique_ptr<raw_input> in, std::filesystem::path path, std::vector<char> chunk,
              std::size_t len)
      : source_base(std::move(in), std::move(path), std::move(chunk), len) {
    // 15 + 16: a 32 KiB window and the gzip wrapper (header + CRC32 trailer checked).
    if (inflateInit2(&zs_, 15 + 16) != Z_OK) throw error(path_, "gzip: cannot initialise zlib");
    zs_.next_in = reinterpret_cast<Bytef*>(chunk_.data());  // the detection chunk
    zs_.avail_in = static_cast<uInt>(len_);
  }
  gzip_source(const gzip_source&) = delete;
  gzip_source& operator=(const gzip_source&) = delete;
  ~gzip_source() override { inflateEnd(&zs_); }

  std::string_view compression() const noexcept override { return "gzip"; }

  std::size_t read(std::span<char> out) override {
    if (done_ || out.empty()) return 0;
    std::size_t produced = 0;
    while (produced < out.size()) {
      if (zs_.avail_in == 0) feed();
      if (between_members_) {
        // After a member ends, more bytes mean another member (`cat a.gz b.gz`);
        // anything that is not one fails inflate's header check below.
        if (zs_.avail_in == 0) {
          done_ = true;
          break;
        }
        inflateReset(&zs_);
        between_members_ = false;
      }
      const std::size_t room = std::min<std::size_t>(out.size() - produced, UINT_MAX);
      zs_.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      zs_.avail_out = static_cast<uInt>(room);
      const int r = inflate(&zs_, Z_NO_FLUSH);
      produced += room - zs_.avail_out;
      pos_ = len_ - zs_.avail_in;
      if (r == Z_STREAM_END) {
        between_members_ = true;
      } else if (r == Z_BUF_ERROR) {
        // No progress possible: with output room left this means input ran out.
        throw error::at_offset(path_, stored_offset(), "gzip: truncated stream (unexpected end of file)");
      } else if (r != Z_OK) {
        throw error::at_offset(path_, stored_offset(),
                               std::string("gzip: corrupt data: ") + (zs_.msg != nullptr ? zs_.msg : "zlib error"));
      }
    }
    return produced;
  }

 private:
  void feed() {
    pos_ = len_;
    if (refill()) {
      zs_.next_in = reinterpret_cast<Bytef*>(chunk_.data());
      zs_.avail_in = static_cast<uInt>(len_);
    }
  }

  z_stream zs_{};
  bool between_members_ = false;
  bool done_ = false;
};

// --- zstd -----------------------------------------------------------------------------

class zstd_source final : public source_base {
 public:
  zstd_source(std::unique_ptr<raw_input> in, std::filesystem::path path, std::vector<char> chunk,
              std::size_t len)
      : source_base(std::move(in), std::move(path), std::move(chunk), len), ds_(ZSTD_createDStream()) {
    if (ds_ == nullptr) throw error(path_, "zstd: cannot create a decoder");
    in_buf_ = {chunk_.data(), len_, 0};
  }
  zstd_source(const zstd_source&) = delete;
  zstd_source& operator=(const zstd_source&) = delete;
  ~zstd_source() override { ZSTD_freeDStream(ds_); }

  std::string_view compression() const noexcept override { return "zstd"; }

  std::size_t read(std::span<char> out) override {
    if (done_ || out.empty()) return 0;
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    while (ob.pos < ob.size) {
      if (in_buf_.pos == in_buf_.size) {
        pos_ = len_;
        refill();
        in_buf_ = {chunk_.data(), len_, pos_};  // empty at the end, offsets stay right
      }
      const bool input_left = in_buf_.pos < in_buf_.size;
      if (!input_left && last_hint_ == 0) {  // every frame complete and flushed
        done_ = true;
        break;
      }
      const std::size_t before = ob.pos;
      const std::size_t r = ZSTD_decompressStream(ds_, &ob, &in_buf_);
      pos_ = in_buf_.pos;
      if (ZSTD_isError(r) != 0) {
        throw error::at_offset(path_, stored_offset(), std::string("zstd: corrupt data: ") + ZSTD_getErrorName(r));
      }
      last_hint_ = r;
      if (!input_left && ob.pos == before) {
        throw error::at_offset(path_, stored_offset(), "zstd: truncated stream (unexpected end of file)");
      }
    }
    return ob.pos;
  }

 private:
  ZSTD_DStream* ds_;
  ZSTD_inBuffer in_buf_{};
  std::size_t last_hint_ = 1;  // ZSTD_decompressStream's return: 0 once a frame is done
  bool done_ = false;
};

std::unique_ptr<byte_source> detect(std::unique_ptr<raw_input> in, std::filesystem::path path) {
  std::vector<char> chunk(input_chunk);
  // Read until the longest magic (6 bytes) is in, or the input ends.
  std::size_t len = 0;
  while (len < 6) {
    const std::size_t k = in->read(chunk.data() + len, chunk.size() - len);
    if (k == 0) break;
    len += k;
  }
  const auto starts_with = [&](std::initializer_list<unsigned char> magic) {
    if (len < magic.size()) return false;
    std::size_t i = 0;
    for (unsigned char m : magic) {
      if (static_cast<unsigned char>(chunk[i++]) != m) return false;
    }
    return true;
  };
  if (starts_with({0xFD, '7', 'z', 'X', 'Z', 0x00}))
    return std::make_unique<xz_source>(std::move(in), std::move(path), std::move(chunk), len);
  if (starts_with({0x1F, 0x8B}))
    return std::make_unique<gzip_source>(std::move(in), std::move(path), std::move(chunk), len);
  if (starts_with({0x28, 0xB5, 0x2F, 0xFD}))
    return std::make_unique<zstd_source>(std::move(in), std::move(path), std::move(chunk), len);
  return std::make_unique<plain_source>(std::move(in), std::move(path), std::move(chunk), len);
}

}  // namespace

std::unique_ptr<byte_source> open_bytes(const std::filesystem::path& path) {
  return detect(std::make_unique<file_input>(path), path);
}

std::unique_ptr<byte_source> open_descriptor(int fd, std::filesystem::path name) {
  return detect(std::make_unique<descriptor_input>(fd, name), std::move(name));
}

std::unique_ptr<byte_source> open_bytes(std::span<const char> data, std::filesystem::path name) {
  return detect(std::make_unique<memory_input>(data), std::move(name));
}

}  // namespace prescient::trace
