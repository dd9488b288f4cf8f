#include "core/credentials.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>

#include "core/encoding.h"
#include "core/json_writer.h"

namespace cmr_bridge {
namespace {

struct CipherDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherDeleter>;
constexpr int kIvBytes = 12;
constexpr int kTagBytes = 16;

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Decodes a JSON string token (with quotes) from already-validated JSON. Only the escapes
// matter for comparing key names; \\u escapes are kept verbatim (no credential name uses them).
std::string unescape_key(std::string_view token) {
  std::string out;
  for (std::size_t i = 1; i + 1 < token.size(); ++i) {
    if (token[i] == '\\' && i + 2 < token.size()) {
      const char e = token[++i];
      out.push_back(e == 'n'   ? '\n'
                    : e == 't' ? '\t'
                    : e == 'r' ? '\r'
                    : e == 'b' ? '\b'
                    : e == 'f' ? '\f'
                               : e);
    } else {
      out.push_back(token[i]);
    }
  }
  return out;
}

std::size_t string_end(std::string_view json, std::size_t open_quote) {
  for (std::size_t i = open_quote + 1; i < json.size(); ++i) {
    if (json[i] == '\\') {
      ++i;
    } else if (json[i] == '"') {
      return i + 1;
    }
  }
  return json.size();
}

std::size_t scalar_end(std::string_view json, std::size_t start) {
  std::size_t i = start;
  while (i < json.size() && json[i] != ',' && json[i] != '}' && json[i] != ']' && json[i] != ' ' &&
         json[i] != '\n' && json[i] != '\r' && json[i] != '\t') {
    ++i;
  }
  return i;
}

// One past the '}' or ']' that closes the container opened at `open` (valid JSON).
std::size_t container_end(std::string_view json, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"') {
      i = string_end(json, i) - 1;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return json.size();
}

struct Replacement {
  std::size_t begin;
  std::size_t end;
  std::string pointer;
  std::string plaintext;  // the value's JSON text as sent (a string token keeps its quotes)
};

// Walks valid JSON without recursion, noting the values (scalars other than null, objects and
// arrays whole) whose key or pointer is a credential.
std::vector<Replacement> find_credentials(std::string_view json, const CredentialPolicy& policy) {
  struct Frame {
    bool object;
    std::size_t index = 0;
    std::string key;
    bool expect_key = true;
  };
  std::vector<Frame> stack;
  std::vector<std::string> path;  // pointer tokens of the containers entered
  std::vector<Replacement> found;
  const auto current_pointer = [&](const Frame& frame) {
    std::string pointer;
    for (const auto& token : path) {
      pointer.push_back('/');
      pointer.append(token);
    }
    pointer.push_back('/');
    pointer.append(escape_pointer_token(frame.object ? frame.key : std::to_string(frame.index)));
    return pointer;
  };
  const auto is_credential = [&](const Frame& frame, const std::string& pointer) {
    if (frame.object &&
        std::find(policy.names.begin(), policy.names.end(), frame.key) != policy.names.end()) {
      return true;
    }
    return std::find(policy.pointers.begin(), policy.pointers.end(), pointer) !=
           policy.pointers.end();
  };
  for (std::size_t i = 0; i < json.size();) {
    const char c = json[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ':') {
      ++i;
    } else if (c == ',') {
      if (!stack.empty()) {
        ++stack.back().index;
        stack.back().expect_key = stack.back().object;
      }
      ++i;
    } else if ((c == '{' || c == '[') && !stack.empty() &&
               is_credential(stack.back(), current_pointer(stack.back()))) {
      // An object or array under a credential name or pointer is one credential: its whole
      // JSON text is replaced, so no part of it reaches Kafka in the clear.
      const std::size_t end = container_end(json, i);
      found.push_back(
          {i, end, current_pointer(stack.back()), std::string(json.substr(i, end - i))});
      i = end;
    } else if (c == '{' || c == '[') {
      if (!stack.empty()) {
        const Frame& parent = stack.back();
        path.push_back(
            escape_pointer_token(parent.object ? parent.key : std::to_string(parent.index)));
      }
      stack.push_back({c == '{', 0, {}, c == '{'});
      ++i;
    } else if (c == '}' || c == ']') {
      stack.pop_back();
      if (!stack.empty() && !path.empty())
        path.pop_back();
      ++i;
    } else {
      const std::size_t end = c == '"' ? string_end(json, i) : scalar_end(json, i);
      if (!stack.empty() && stack.back().object && stack.back().expect_key) {
        stack.back().key = unescape_key(json.substr(i, end - i));
        stack.back().expect_key = false;
      } else if (!stack.empty()) {
        const std::string pointer = current_pointer(stack.back());
        if (is_credential(stack.back(), pointer) && json.substr(i, end - i) != "null") {
          found.push_back({i, end, pointer, std::string(json.substr(i, end - i))});
        }
      }
      i = end;
    }
  }
  return found;
}

std::optional<std::string> encrypt(const EncryptionKey& key, std::string_view plaintext,
                                   const std::string& aad) {
  unsigned char iv[kIvBytes];
  if (RAND_bytes(iv, kIvBytes) != 1)
    return std::nullopt;
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size() + kTagBytes, '\0');
  int len = 0;
  int total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.key.data(), iv) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    return std::nullopt;
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), o + total, &len) != 1)
    return std::nullopt;
  total += len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, o + total) != 1) {
    return std::nullopt;
  }
  total += kTagBytes;
  return std::string(kEncryptedPrefix) + key.id + ":" + base64_encode(iv, kIvBytes) + ":" +
         base64_encode(o, static_cast<std::size_t>(total));
}

}  // namespace

Result<std::vector<EncryptionKey>> parse_encryption_keys(std::string_view text) {
  std::vector<EncryptionKey> keys;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view entry = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ')
      entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ')
      entry.remove_suffix(1);
    const auto colon = entry.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return Error("each key must be written <id>:<base64 of 32 bytes>");
    EncryptionKey key;
    key.id.assign(entry.substr(0, colon));
    const auto bytes = base64_decode(entry.substr(colon + 1));
    if (!bytes || bytes->size() != key.key.size())
      return Error("key \"" + key.id + "\" is not base64 of exactly 32 bytes");
    std::copy(bytes->begin(), bytes->end(), key.key.begin());
    if (key.id.find(':') != std::string::npos)
      return Error("key id \"" + key.id + "\" must not contain ':'");
    keys.push_back(std::move(key));
  }
  if (keys.empty())
    return Error("no key given");
  return keys;
}

std::optional<std::string> protect_credentials(std::string_view raw_data,
                                               const CredentialPolicy& policy,
                                               std::string_view event_id) {
  if (policy.mode == CredentialMode::kPassthrough)
    return std::string(raw_data);
  const auto found = find_credentials(raw_data, policy);
  std::string out;
  out.reserve(raw_data.size() + found.size() * 64);
  std::size_t copied = 0;
  for (const auto& r : found) {
    out.append(raw_data.substr(copied, r.begin - copied));
    std::string value;
    if (policy.mode == CredentialMode::kRedact) {
      value = std::string(kRedacted);
    } else {
      if (policy.keys.empty())
        return std::nullopt;
      auto encrypted =
          encrypt(policy.keys.front(), r.plaintext, std::string(event_id) + "|" + r.pointer);
      if (!encrypted)
        return std::nullopt;
      value = std::move(*encrypted);
    }
    // JSON-escape through the writer (the base64 and marker texts need none, but be exact).
    std::string quoted = JsonObjectWriter().field("v", value).finish();
    out.append(quoted.substr(5, quoted.size() - 6));
    copied = r.end;
  }
  out.append(raw_data.substr(copied));
  return out;
}

std::optional<std::string> decrypt_credential(std::string_view value,
                                              const std::vector<EncryptionKey>& keys,
                                              std::string_view event_id, std::string_view pointer) {
  if (value.rfind(kEncryptedPrefix, 0) != 0)
    return std::nullopt;
  value.remove_prefix(kEncryptedPrefix.size());
  const auto first = value.find(':');
  const auto second = value.find(':', first == std::string_view::npos ? first : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos)
    return std::nullopt;
  const std::string_view id = value.substr(0, first);
  const auto iv = base64_decode(value.substr(first + 1, second - first - 1));
  const auto sealed = base64_decode(value.substr(second + 1));
  const auto key =
      std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.id == id; });
  if (key == keys.end() || !iv || iv->size() != kIvBytes || !sealed || sealed->size() < kTagBytes) {
    return std::nullopt;
  }
  const std::string aad = std::string(event_id) + "|" + std::string(pointer);
  const std::size_t length = sealed->size() - kTagBytes;
  std::string plaintext(length, '\0');
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* tag = const_cast<uint8_t*>(sealed->data() + length);
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->key.data(), iv->data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &len,
                        sealed->data(), static_cast<int>(length)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()) + len,
                          &len) != 1) {
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace cmr_bridge
