#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "core/credentials.h"

namespace cmr_bridge {
namespace {

std::string escape_token(const std::string& token) {
  std::string out;
  for (char c : token)
    out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Replaces every encrypted string under `value` (at `pointer`) in place. Counts results.
void decrypt_in_place(rapidjson::Value& value, const std::string& pointer,
                      const std::vector<EncryptionKey>& keys, const std::string& event_id,
                      rapidjson::Document::AllocatorType& allocator, int& decrypted, int& failed) {
  if (value.IsObject()) {
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      decrypt_in_place(it->value, pointer + "/" + escape_token(it->name.GetString()), keys,
                       event_id, allocator, decrypted, failed);
    }
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      decrypt_in_place(value[i], pointer + "/" + std::to_string(i), keys, event_id, allocator,
                       decrypted, failed);
    }
  } else if (value.IsString() &&
             std::string_view(value.GetString()).rfind(kEncryptedPrefix, 0) == 0) {
    const auto plaintext = decrypt_credential(value.GetString(), keys, event_id, pointer);
    rapidjson::Document original(&allocator);
    if (plaintext)
      original.Parse<rapidjson::kParseIterativeFlag>(plaintext->c_str());
    if (!plaintext || original.HasParseError()) {
      ++failed;
      return;
    }
    value.CopyFrom(original, allocator);
    ++decrypted;
  }
}

}  // namespace

int run_decrypt_command(const std::vector<std::string>& args) {
  std::string event_id;
  std::string file = "-";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--event-id" && i + 1 < args.size()) {
      event_id = args[++i];
    } else if (args[i].size() > 1 && args[i][0] == '-' && args[i] != "-") {
      std::cerr << "usage: cmr-bridge decrypt [--event-id ID] [FILE|-]\n";
      return kExitConfig;
    } else {
      file = args[i];
    }
  }
  std::string keys_text;
  if (const char* path = std::getenv("CMR_BRIDGE_ENCRYPTION_KEYS_FILE"); path && *path) {
    std::ifstream in(path, std::ios::binary);
    keys_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!keys_text.empty() && (keys_text.back() == '\n' || keys_text.back() == '\r')) {
      keys_text.pop_back();
    }
  } else if (const char* text = std::getenv("CMR_BRIDGE_ENCRYPTION_KEYS")) {
    keys_text = text;
  }
  const auto keys = parse_encryption_keys(keys_text);
  if (!keys) {
    std::cerr << "CMR_BRIDGE_ENCRYPTION_KEYS: " << keys.error().message() << "\n";
    return kExitConfig;
  }
  std::string input;
  if (file == "-") {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << file << "\n";
      return kExitConfig;
    }
    input.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(input.c_str(), input.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    std::cerr << "the input is not a JSON object\n";
    return kExitConfig;
  }
  // Structured CloudEvents record: id and data inside; a binary-mode value is the data itself.
  const bool structured = doc.HasMember("specversion") && doc.HasMember("data");
  if (event_id.empty() && structured && doc["id"].IsString())
    event_id = doc["id"].GetString();
  if (event_id.empty()) {
    std::cerr << "no event id: pass --event-id (the ce_id header of a binary-mode record)\n";
    return kExitConfig;
  }
  int decrypted = 0;
  int failed = 0;
  rapidjson::Value& data = structured ? doc["data"] : doc;
  decrypt_in_place(data, "", keys.value(), event_id, doc.GetAllocator(), decrypted, failed);
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer(out);
  doc.Accept(writer);
  std::cout << out.GetString() << "\n";
  if (failed > 0) {
    std::cerr << failed << " value(s) could not be decrypted (wrong key, event id or field)\n";
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace cmr_bridge
