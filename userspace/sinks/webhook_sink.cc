#include "sinks/webhook_sink.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace permsentry {
namespace {

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

std::string SlackPayload(const AlertRecord& r, absl::string_view hostname) {
  const std::string text = absl::StrCat("*", absl::AsciiStrToUpper(SeverityName(r.severity)), "* `",
                                        r.rule_id, "` on ", hostname, ": ", r.message);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("text");
  // The message is escaped text (EscapeForText) already: valid UTF-8.
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  w.EndObject();
  return JsonOut(absl::string_view(buf.GetString(), buf.GetSize()));
}

WebhookSink::WebhookSink(Options options, WebhookSinkConfig config)
    : Sink(std::move(options)), config_(std::move(config)), hostname_(Hostname()) {
  // Once per process, before any handle, from the thread that builds sinks.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  Start();
}

WebhookSink::~WebhookSink() {
  Stop(absl::ZeroDuration());
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::Status WebhookSink::Deliver(const AlertRecord& r) {
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) return absl::InternalError("curl_easy_init failed");
  const std::string body = config_.slack ? SlackPayload(r, hostname_) : r.json;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& h : config_.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(config_.timeout)));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // a worker thread: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "permsentry");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("POST ", config_.url, ": ", curl_easy_strerror(rc)));
  }
  if (code >= 200 && code < 300) return absl::OkStatus();
  const std::string what = absl::StrCat("POST ", config_.url, ": HTTP ", code);
  if (code == 429 || code >= 500) return absl::UnavailableError(what);
  return absl::FailedPreconditionError(what);
}

}  // namespace permsentry
