// Sinks without root and without their real peers (those are in the
// integration suite): wire formats, queue bounds, file rotation, the tail
// filter and its text form.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pipeline/stdout_writer.h"
#include "render/tail_text.h"
#include "sinks/file_sink.h"
#include "sinks/journald_sink.h"
#include "sinks/sink.h"
#include "sinks/syslog_sink.h"
#include "sinks/tail_server.h"
#include "sinks/webhook_sink.h"

namespace permsentry {
namespace {

AlertRecord Sample() {
  AlertRecord r;
  r.time = absl::FromUnixMicros(1796150000123456);
  r.severity = Severity::kHigh;
  r.rule_id = "setid-bit-added";
  r.rule_name = "setuid or setgid bit added";
  r.message = "setuid or setgid bit added: /tmp/x 0755 → 04755";
  r.json = R"({"message":"m","event":{"kind":"alert"}})";
  r.fields = {{"RULE", "setid-bit-added"}, {"PATH", "/tmp/a \"b\" ]c\\"}, {"PID", "42"}};
  return r;
}

TEST(Syslog, Rfc5424WithStructuredData) {
  SyslogSinkConfig c;
  c.hostname = "web 1";  // no spaces in the HOSTNAME field
  const std::string m = FormatRfc5424(Sample(), c, 777);
  // auth (4) * 8 + err (3) = 35
  EXPECT_EQ(m,
            "<35>1 2026-12-01T18:33:20.123456Z web_1 permsentry 777 setid-bit-added "
            "[permsentry@32473 rule=\"setid-bit-added\" path=\"/tmp/a \\\"b\\\" \\]c\\\\\" "
            "pid=\"42\"] {\"message\":\"m\",\"event\":{\"kind\":\"alert\"}}");
  EXPECT_EQ(OctetCounted("abc"), "3 abc");
  EXPECT_EQ(OctetCounted("→"), "3 →");  // octets, not characters
  c.json_message = false;
  c.facility = *SyslogFacility("local3");
  const std::string text = FormatRfc5424(Sample(), c, 1);
  EXPECT_EQ(text.substr(0, 5), "<155>");  // 19 * 8 + 3
  EXPECT_NE(text.find("] setuid or setgid bit added: /tmp/x 0755 → 04755"), std::string::npos);
  EXPECT_FALSE(SyslogFacility("locall").has_value());
  // A rule id longer than MSGID's 32 octets is cut, not rejected by the collector.
  AlertRecord longer = Sample();
  longer.rule_id = std::string(40, 'r');
  EXPECT_NE(FormatRfc5424(longer, c, 1).find(" " + std::string(32, 'r') + " ["), std::string::npos);
}

TEST(Journald, NativeFields) {
  const std::vector<std::string> f = JournalFields(Sample());
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0], "MESSAGE=setuid or setgid bit added: /tmp/x 0755 → 04755");
  EXPECT_EQ(f[1], "PRIORITY=3");
  EXPECT_EQ(f[2], "SYSLOG_IDENTIFIER=permsentry");
  EXPECT_EQ(f[3], "PERMSENTRY_RULE=setid-bit-added");
  EXPECT_EQ(f[4], "PERMSENTRY_PATH=/tmp/a \"b\" ]c\\");
  EXPECT_EQ(f[5], "PERMSENTRY_PID=42");
  EXPECT_EQ(f[6], std::string("PERMSENTRY_EVENT=") + Sample().json);
  EXPECT_EQ(SyslogPriority(Severity::kCritical), 2);
  EXPECT_EQ(SyslogPriority(Severity::kMedium), 4);
  EXPECT_EQ(SyslogPriority(Severity::kLow), 5);
}

TEST(Webhook, SlackText) {
  EXPECT_EQ(SlackPayload(Sample(), "web1"),
            "{\"text\":\"*HIGH* `setid-bit-added` on web1: setuid or setgid bit added: /tmp/x "
            "0755 → 04755\"}");
}

// A sink whose delivery waits until released: the queue fills behind it.
class GatedSink : public Sink {
 public:
  explicit GatedSink(Options o) : Sink(std::move(o)) { Start(); }
  ~GatedSink() override {
    open_ = true;
    Stop(absl::ZeroDuration());
  }
  std::atomic<bool> open_{false};
  std::atomic<int> fail_times_{0};
  std::atomic<int> delivered_{0};

 private:
  absl::Status Deliver(const AlertRecord&) override {
    while (!open_) absl::SleepFor(absl::Milliseconds(1));
    if (fail_times_ > 0) {
      --fail_times_;
      return absl::UnavailableError("collector down");
    }
    ++delivered_;
    return absl::OkStatus();
  }
};

TEST(Sink, FullQueueDropsAreCountedAndNothingBlocks) {
  GatedSink s(Sink::Options{.name = "gated", .queue_max = 3});
  auto r = std::make_shared<const AlertRecord>(Sample());
  const absl::Time t0 = absl::Now();
  for (int i = 0; i < 10; ++i) s.Submit(r);
  EXPECT_LT(absl::Now() - t0, absl::Milliseconds(100));  // Submit never waits
  // The queue holds three (the one being delivered among them): seven dropped.
  SinkStats st = s.Stats();
  EXPECT_EQ(st.submitted, 10u);
  EXPECT_EQ(st.queued, 3u);
  EXPECT_EQ(st.dropped, 7u);
  s.open_ = true;
  for (int i = 0; i < 200 && s.Stats().delivered != 3; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(s.Stats().delivered, 3u);
  EXPECT_EQ(s.Stats().queued, 0u);
}

TEST(Sink, UnavailableIsRetriedWithBackoffThenDelivered) {
  GatedSink s(Sink::Options{.name = "flaky",
                            .queue_max = 10,
                            .max_attempts = 0,
                            .backoff_initial = absl::Milliseconds(5),
                            .backoff_max = absl::Milliseconds(20)});
  s.fail_times_ = 3;
  s.open_ = true;
  s.Submit(std::make_shared<const AlertRecord>(Sample()));
  for (int i = 0; i < 200 && s.Stats().delivered != 1; ++i) absl::SleepFor(absl::Milliseconds(5));
  const SinkStats st = s.Stats();
  EXPECT_EQ(st.delivered, 1u);
  EXPECT_EQ(st.retries, 3u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.last_error, "collector down");
}

TEST(Sink, AttemptsRunOutThenFailedAndStopCountsTheRest) {
  GatedSink s(Sink::Options{.name = "down",
                            .queue_max = 10,
                            .max_attempts = 2,
                            .backoff_initial = absl::Milliseconds(1)});
  s.fail_times_ = 1000;
  s.open_ = true;
  s.Submit(std::make_shared<const AlertRecord>(Sample()));
  for (int i = 0; i < 200 && s.Stats().failed != 1; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(s.Stats().failed, 1u);
  EXPECT_EQ(s.Stats().retries, 1u);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FileSink, JsonLinesRotatedBySize) {
  char tmpl[] = "/tmp/permsentry-filesink-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/alerts.jsonl";
  {
    // Each line is 41 bytes: two fit under 100, the third rotates.
    FileSink s(Sink::Options{.name = "file"},
               FileSinkConfig{.path = path, .max_bytes = 100, .keep = 2});
    for (int i = 0; i < 7; ++i) s.Submit(std::make_shared<const AlertRecord>(Sample()));
    for (int i = 0; i < 200 && s.Stats().delivered != 7; ++i) absl::SleepFor(absl::Milliseconds(5));
    EXPECT_EQ(s.Stats().delivered, 7u);
  }
  const std::string line = Sample().json + "\n";
  EXPECT_EQ(ReadAll(path), line);                // the 7th
  EXPECT_EQ(ReadAll(path + ".1"), line + line);  // 5th, 6th
  EXPECT_EQ(ReadAll(path + ".2"), line + line);  // 3rd, 4th
  struct stat st;
  EXPECT_NE(stat((path + ".3").c_str(), &st), 0);  // keep: 2, the oldest fell off
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  (void)!system(absl::StrCat("rm -rf '", tmpl, "'").c_str());
}

TEST(FileSink, UnwritableIsRetriedNotLost) {
  // A directory that does not exist yet: retried until it does.
  char tmpl[] = "/tmp/permsentry-filesink-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/later";
  FileSink s(Sink::Options{.name = "file", .backoff_initial = absl::Milliseconds(5)},
             FileSinkConfig{.path = dir + "/a.jsonl"});
  s.Submit(std::make_shared<const AlertRecord>(Sample()));
  for (int i = 0; i < 100 && s.Stats().retries < 2; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_GE(s.Stats().retries, 2u);
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  for (int i = 0; i < 400 && s.Stats().delivered != 1; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(s.Stats().delivered, 1u);
  EXPECT_EQ(ReadAll(dir + "/a.jsonl"), Sample().json + "\n");
  (void)!system(absl::StrCat("rm -rf '", tmpl, "'").c_str());
}

// ------------------------------------------------------------------ stdout

std::string Drain(int fd) {
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) got.append(buf, static_cast<size_t>(n));
  return got;
}

TEST(StdoutWriter, ASlowReaderNeverBlocksAndAlertsGoFirst) {
  signal(SIGPIPE, SIG_IGN);  // as `permsentry run` does: EPIPE, not death
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);  // the read end: for draining here
  fcntl(p[1], F_SETFL, 0);             // the write end blocks, as a real stdout would
  ASSERT_GT(fcntl(p[1], F_SETPIPE_SZ, 4096), 0);
  StdoutWriter w(p[1], /*limit=*/64 << 10);
  const std::string event(99, 'e');
  for (int i = 0; i < 400; ++i) w.Append(event + "\n");  // 40 KB: ten times the pipe
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(w.Flush());  // returns with the pipe full instead of waiting
  EXPECT_LT(absl::Now() - t0, absl::Milliseconds(100));
  EXPECT_TRUE(w.backlogged());
  w.Append("ALERT\n", /*alert=*/true);
  std::string got = Drain(p[0]);  // what fit first: whole events, and maybe a part of one
  while (w.size() > 0) {
    ASSERT_TRUE(w.Flush());
    got += Drain(p[0]);
  }
  // Every line whole; the alert ahead of the events that were still waiting.
  std::vector<std::string> lines = absl::StrSplit(got, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 401u);
  size_t alert_at = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] == "ALERT")
      alert_at = i;
    else
      EXPECT_EQ(lines[i], event) << i;
  }
  EXPECT_GT(alert_at, 0u);
  EXPECT_LT(alert_at, 60u);  // not behind the 400
  // Past the limit, events are dropped and counted; alerts are kept.
  for (int i = 0; i < 2000; ++i) w.Append(event + "\n");  // 200 KB > 64 KB
  w.Append("ALERT2\n", /*alert=*/true);
  EXPECT_EQ(w.dropped(), 2000u - (64u << 10) / 100u);
  EXPECT_EQ(w.dropped_alerts(), 0u);
  got.clear();
  while (w.size() > 0) {
    ASSERT_TRUE(w.Flush());
    got += Drain(p[0]);
  }
  EXPECT_NE(got.find("ALERT2\n"), std::string::npos);
  close(p[0]);
  w.Append("gone\n");
  EXPECT_FALSE(w.Flush());
  EXPECT_EQ(w.error(), EPIPE);
  close(p[1]);
}

// Lines written in place (Reserve, then Commit) go out exactly like appended
// ones, through partial writes and buffer reuse; the scratch past a line is
// never written; past the limit a commit drops and counts like Append.
TEST(StdoutWriter, LinesWrittenInPlaceAsAppended) {
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  fcntl(p[1], F_SETFL, 0);
  ASSERT_GT(fcntl(p[1], F_SETPIPE_SZ, 4096), 0);
  StdoutWriter w(p[1], /*limit=*/64 << 10);
  const auto in_place = [&](const std::string& line, bool alert) {
    const StdoutWriter::Space s = w.Reserve(alert);
    // As the renderer does: scratch room beyond the line, then the line.
    if (s.data->size() < s.at + line.size() + 64) s.data->resize(s.at + line.size() + 64);
    std::memset(s.data->data() + s.at, '#', s.data->size() - s.at);
    std::memcpy(s.data->data() + s.at, line.data(), line.size());
    w.Commit(alert, line.size());
  };
  std::string want, got;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      const std::string line =
          absl::StrCat("r", round, " line ", i, std::string(i % 97, 'x'), "\n");
      if (i % 2) {
        in_place(line, false);
      } else {
        w.Append(line);
      }
      want += line;
      if (i % 50 == 0) {
        ASSERT_TRUE(w.Flush());
        got += Drain(p[0]);
      }
    }
    while (w.size() > 0) {
      ASSERT_TRUE(w.Flush());
      got += Drain(p[0]);
    }
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.find('#'), std::string::npos);
  in_place("ALERT\n", true);
  EXPECT_EQ(w.pending_alerts(), 1u);
  // Past the limit (nothing drained): events committed in place are dropped.
  const std::string event(99, 'e');
  for (int i = 0; i < 2000; ++i) in_place(event + "\n", false);
  EXPECT_EQ(w.dropped(), 2000u - ((64u << 10) - 6) / 100u);
  EXPECT_EQ(w.pending_events(), ((64u << 10) - 6) / 100u);
  close(p[0]);
  close(p[1]);
}

// ------------------------------------------------------------------ tail

TEST(TailFilter, RequestRoundTripAndMatching) {
  TailFilter f;
  f.alerts_only = true;
  f.min_severity = Severity::kMedium;
  f.actions = {"chmod", "setxattr"};
  f.paths.push_back(*Glob::Compile("/etc/**", Glob::Kind::kPath));
  f.since = absl::Minutes(10);
  absl::StatusOr<TailFilter> back = TailFilter::FromRequest(f.ToRequest());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->alerts_only);
  EXPECT_EQ(back->min_severity, Severity::kMedium);
  EXPECT_EQ(back->actions, f.actions);
  ASSERT_EQ(back->paths.size(), 1u);
  EXPECT_EQ(back->since, absl::Minutes(10));

  TailMeta m{.alert = true, .severity = Severity::kHigh, .action = "chmod", .path = "/etc/x"};
  EXPECT_TRUE(back->Matches(m));
  m.severity = Severity::kLow;
  EXPECT_FALSE(back->Matches(m));
  m.severity = Severity::kHigh;
  m.path = "/srv/x";
  EXPECT_FALSE(back->Matches(m));
  m.path = "/etc/x";
  m.action = "chown";
  EXPECT_FALSE(back->Matches(m));
  m.action = "chmod";
  m.alert = false;
  EXPECT_FALSE(back->Matches(m));

  TailFilter ai;
  ai.ai_only = true;
  TailMeta e{.attribution = Attribution::Kind::kNone};
  EXPECT_FALSE(ai.Matches(e));
  e.attribution = Attribution::Kind::kAssisted;
  EXPECT_TRUE(ai.Matches(e));
  EXPECT_TRUE(TailFilter{}.Matches(TailMeta{}));

  EXPECT_EQ(TailFilter::FromRequest("nope").status().message(), "request is not JSON");
  EXPECT_EQ(TailFilter::FromRequest(R"({"min_severity":"urgent"})").status().message(),
            "min_severity: expected low, medium, high or critical");
  EXPECT_FALSE(TailFilter::FromRequest(R"({"paths":["relative"]})").ok());
}

TEST(TailText, AlertsColouredEventsDimmedOneLine) {
  const std::string alert =
      R"json({"@timestamp":"2026-12-01T18:49:41.123456Z","message":"setuid or setgid bit added: /tmp/x 0755 → 04755 by chmod (pid 9, uid 0) [AI agent claude, session s]: setuid bit added: runs as root (owner uid 0)","event":{"kind":"alert","severity":99},"rule":{"id":"setid-bit-added"},"permsentry":{"alert":{"severity":"critical"}}})json";
  EXPECT_EQ(*TailTextLine(alert, false),
            "18:49:41.123 CRITICAL setid-bit-added: setuid or setgid bit added: /tmp/x 0755 → "
            "04755 by chmod (pid 9, uid 0) [AI agent claude, session s]: setuid bit added: runs "
            "as root (owner uid 0)\n");
  EXPECT_TRUE(absl::StartsWith(
      *TailTextLine(alert, true),
      "18:49:41.123 \033[1;97;41mCRITICAL\033[0m \033[1msetid-bit-added\033[0m: setuid"));
  const std::string event =
      R"({"@timestamp":"2026-12-01T18:49:41.200000Z","message":"a\nb\u001b[2J","event":{"kind":"event"}})";
  EXPECT_EQ(*TailTextLine(event, false), "18:49:41.200 event    a\\x0ab\\x1b[2J\n");
  EXPECT_EQ(*TailTextLine(event, true), "\033[2m18:49:41.200 event    a\\x0ab\\x1b[2J\033[0m\n");
  EXPECT_FALSE(TailTextLine("not json", false).has_value());
  EXPECT_FALSE(TailTextLine(R"({"permsentry_tail":{"hello":{}}})", false).has_value());
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

// A storm of distinct events fills the --since backlog by memory, not by
// count: 10,000 lines of 1.2 KiB are cut to what 6 MiB holds, the newest kept,
// and what is replayed is each line exactly as published.
std::string Line(int i) {
  return absl::StrCat("{\"n\":", i, ",\"pad\":\"", std::string(1180, 'a' + i % 26), "\"}\n");
}

TEST(TailServerBacklog, BoundedByMemoryNewestKept) {
  if (geteuid() != 0) GTEST_SKIP() << "the tail socket admits root and its group only";
  char dir[] = "/tmp/permsentry-tail-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  TailServerOptions o;
  o.socket_path = std::string(dir) + "/tail.sock";
  o.client_buffer_bytes = 64u << 20;  // a replay of the whole backlog fits
  std::string note;
  absl::StatusOr<std::unique_ptr<TailServer>> srv = TailServer::Listen(o, &note);
  ASSERT_TRUE(srv.ok()) << srv.status();
  const absl::Time now = absl::Now();
  // First a line with no action and no path (a health alert's): kept as well,
  // then dropped as the oldest.
  (*srv)->Publish("{\"health\":1}\n", TailMeta{.alert = true, .time = now});
  for (int i = 0; i < 10000; ++i) {
    (*srv)->Publish(Line(i), TailMeta{.action = "chmod", .path = "/tmp/storm/m1", .time = now});
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", o.socket_path.c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  TailFilter f;
  f.since = absl::Hours(1);
  const std::string request = f.ToRequest() + "\n";
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  fcntl(fd, F_SETFL, O_NONBLOCK);
  // Server and client in one thread: serve, then read what it wrote, until
  // the replay's end marker.
  std::string got;
  for (int round = 0; round < 100000 && got.find("backlog_end") == std::string::npos; ++round) {
    (*srv)->Service();
    (*srv)->Flush();
    char buf[1 << 16];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  ASSERT_NE(got.find("backlog_end"), std::string::npos) << got.substr(0, 300);
  int replayed = 0, first = -1, last = -1, changed = 0;
  for (absl::string_view l : absl::StrSplit(got, '\n')) {
    if (!absl::StartsWith(l, "{\"n\":")) continue;
    const int n = std::atoi(std::string(l.substr(5, l.find(',') - 5)).c_str());
    if (absl::StrCat(l, "\n") != Line(n)) ++changed;
    if (first < 0) first = n;
    last = n;
    ++replayed;
  }
  // Within 6 MiB, counted as the server holds it (whole blocks of text and
  // an entry per event), and most of it used: about 4,600 of the 10,000.
  EXPECT_LE((*srv)->backlog_bytes(), o.backlog_bytes);
  EXPECT_EQ(static_cast<size_t>(replayed), (*srv)->backlog_events());
  EXPECT_GT(replayed, 4400);
  EXPECT_LT(replayed, 5000);
  EXPECT_EQ(changed, 0);
  EXPECT_EQ(last, 9999);  // the newest are the ones kept
  EXPECT_EQ(first, 10000 - replayed);
  srv->reset();
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
}

}  // namespace
}  // namespace permsentry
