#include <gtest/gtest.h>

#include <fcntl.h>

#include <algorithm>

#include "../common/acl_value.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "decode/decode.h"
#include "decode_or_fail.h"
#include "rapidjson/document.h"
#include "rapidjson/pointer.h"
#include "record_builder.h"
#include "render/json_writer.h"
#include "render/render.h"

namespace permsentry {
namespace {

using testing::RecordBuilder;

OpEvent Decode(std::vector<uint8_t> rec) { return testing::DecodeOrFail(std::move(rec)); }

using WatchListPtr = std::shared_ptr<const std::vector<WatchEntry>>;

// Renders (with `watch` as the renderer's watch list, if given), checks the
// one-line invariant, parses.
rapidjson::Document RenderJson(const OpEvent& ev, WatchListPtr watch = nullptr) {
  JsonRenderer r("testhost");
  if (watch != nullptr) r.SetWatchList(std::move(watch));
  const std::string line = r.Render(ev);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_EQ(line.back(), '\n');
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size() - 1);
  EXPECT_FALSE(doc.HasParseError()) << line;
  return doc;
}

std::string Str(const rapidjson::Document& d, const char* ptr) {
  const rapidjson::Value* v = rapidjson::Pointer(ptr).Get(d);
  if (v == nullptr) return "<missing>";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  return "<other>";
}

TEST(FormatMode, Octal) {
  EXPECT_EQ(FormatMode(04755), "04755");
  EXPECT_EQ(FormatMode(0644), "0644");
  EXPECT_EQ(FormatMode(0440), "0440");
  EXPECT_EQ(FormatMode(0), "0000");
  EXPECT_EQ(FormatMode(07777), "07777");
}

TEST(RenderJson, ChmodFields) {
  auto ev = Decode(RecordBuilder(268)
                       .Arg(0, static_cast<uint64_t>(-100))
                       .Arg(2, 04755)
                       .Path("somefile")
                       .Build());
  auto d = RenderJson(ev);
  EXPECT_EQ(Str(d, "/event/action"), "chmod");
  EXPECT_EQ(Str(d, "/event/outcome"), "success");
  EXPECT_EQ(Str(d, "/event/kind"), "event");
  EXPECT_EQ(Str(d, "/permsentry/syscall"), "fchmodat");
  EXPECT_EQ(Str(d, "/permsentry/dirfd"), "AT_FDCWD");
  EXPECT_EQ(Str(d, "/file/path"), "somefile");
  EXPECT_EQ(Str(d, "/permsentry/path_arg"), "somefile");
  EXPECT_EQ(Str(d, "/file/mode"), "04755");
  EXPECT_EQ(Str(d, "/process/pid"), "4242");
  EXPECT_EQ(Str(d, "/process/parent/pid"), "1");
  EXPECT_EQ(Str(d, "/process/name"), "tester");
  EXPECT_EQ(Str(d, "/user/id"), "1000");
  EXPECT_EQ(Str(d, "/host/hostname"), "testhost");
  EXPECT_EQ(Str(d, "/permsentry/audit/session_id"), "7");
  EXPECT_EQ(Str(d, "/permsentry/errno"), "<missing>");
  EXPECT_NE(Str(d, "/message").find("04755"), std::string::npos);
}

// A summary of identical calls the kernel counted: the event again, with
// how many more and when the first and the last were.
TEST(RenderJson, KernelRepeatsSummary) {
  auto ev = Decode(RecordBuilder(90).Arg(1, 0600).Path("/srv/f").Build());
  ev.repeats = 4991;
  ev.repeats_first = absl::FromUnixMillis(1'700'000'000'250);
  ev.repeats_last = absl::FromUnixMillis(1'700'000'001'500);
  ev.time = ev.repeats_last;
  auto d = RenderJson(ev);
  ASSERT_TRUE(d.HasMember("permsentry"));
  EXPECT_EQ(d["permsentry"]["repeats"].GetUint64(), 4991u);
  EXPECT_EQ(Str(d, "/permsentry/repeats_first"), "2023-11-14T22:13:20.250000Z");
  EXPECT_EQ(Str(d, "/permsentry/repeats_last"), "2023-11-14T22:13:21.500000Z");
  EXPECT_EQ(Str(d, "/@timestamp"), "2023-11-14T22:13:21.500000Z");
  EXPECT_EQ(Str(d, "/event/kind"), "event");
  EXPECT_NE(Str(d, "/message").find(" (and 4991 more times since 22:13:20Z)"), std::string::npos)
      << Str(d, "/message");
  TextRenderer t;
  const std::string line = t.Render(ev);
  EXPECT_NE(line.find("(4991 more times since 2023-11-14T22:13:20.250Z)"), std::string::npos)
      << line;
  // An ordinary event says nothing of repeats.
  ev.repeats = 0;
  EXPECT_FALSE(RenderJson(ev)["permsentry"].HasMember("repeats"));
}

TEST(RenderJson, FailureErrnoName) {
  auto ev = Decode(RecordBuilder(90).Arg(1, 0644).Path("/missing").Ret(-2).Build());
  auto d = RenderJson(ev);
  EXPECT_EQ(Str(d, "/event/outcome"), "failure");
  EXPECT_EQ(Str(d, "/permsentry/errno"), "ENOENT");
  EXPECT_EQ(Str(d, "/permsentry/return_value"), "-2");
}

TEST(RenderJson, ChownIds) {
  auto ev = Decode(RecordBuilder(92).Arg(1, 0).Arg(2, 0).Path("/f").Build());
  auto d = RenderJson(ev);
  EXPECT_EQ(Str(d, "/file/uid"), "0");
  EXPECT_EQ(Str(d, "/file/gid"), "0");
  EXPECT_EQ(Str(d, "/file/owner"), "root");
}

TEST(RenderJson, CredsBeforeAfter) {
  auto b = RecordBuilder(105).Arg(0, 0);
  b.Flags(PS_OF_CREDS);
  b.ev.creds_before.uid = b.ev.creds_before.euid = 1000;
  b.ev.creds_after.cap_effective = 0x1ffffffffffULL;
  auto d = RenderJson(Decode(b.Build()));
  EXPECT_EQ(Str(d, "/event/category/0"), "process");
  EXPECT_EQ(Str(d, "/permsentry/creds/before/euid"), "1000");
  EXPECT_EQ(Str(d, "/permsentry/creds/after/euid"), "0");
  EXPECT_EQ(Str(d, "/permsentry/creds/after/cap_effective"), "0x000001ffffffffff");
  EXPECT_EQ(Str(d, "/permsentry/requested_ids/0"), "0");
  EXPECT_EQ(Str(d, "/file/path"), "<missing>");
}

TEST(RenderJson, XattrValueHex) {
  auto d = RenderJson(Decode(RecordBuilder(190)
                                 .Arg(0, 3)
                                 .Name("security.capability")
                                 .Value(std::string("\x01\x00\x00\x02", 4), 20)
                                 .Build()));
  EXPECT_EQ(Str(d, "/permsentry/xattr/name"), "security.capability");
  EXPECT_EQ(Str(d, "/permsentry/xattr/value_hex"), "01000002");
  EXPECT_EQ(Str(d, "/permsentry/xattr/value_truncated"), "true");
  EXPECT_EQ(Str(d, "/permsentry/fd"), "3");
}

TEST(RenderJson, AclDecoded) {
  using testing::kAclNoId;
  const std::string acl = testing::AclValue({{0x01, 6, kAclNoId},
                                             {0x02, 6, 65534},
                                             {0x04, 4, kAclNoId},
                                             {0x10, 6, kAclNoId},
                                             {0x20, 0, kAclNoId}});
  auto d = RenderJson(Decode(RecordBuilder(188)
                                 .Arg(3, acl.size())
                                 .Path("/etc/shadow")
                                 .Name("system.posix_acl_access")
                                 .Value(acl, acl.size())
                                 .Build()));
  EXPECT_EQ(Str(d, "/permsentry/acl/kind"), "access");
  EXPECT_EQ(Str(d, "/permsentry/acl/entries/1"), "user:nobody:rw-");
  EXPECT_EQ(Str(d, "/permsentry/acl/entries/4"), "other::---");

  auto bad = RenderJson(Decode(
      RecordBuilder(188).Path("/f").Name("system.posix_acl_default").Value("\x01", 1).Build()));
  EXPECT_EQ(Str(bad, "/permsentry/acl/malformed"),
            "malformed ACL: 1 bytes, shorter than its 4-byte header");
}

TEST(RenderJson, FileCapsAndCredsCapabilities) {
  const uint32_t caps[5] = {0x02000001, 1u << 13, 0, 0, 0};
  auto d = RenderJson(Decode(RecordBuilder(188)
                                 .Path("/usr/bin/x")
                                 .Name("security.capability")
                                 .Value(std::string(reinterpret_cast<const char*>(caps), 20), 20)
                                 .Build()));
  EXPECT_EQ(Str(d, "/permsentry/capabilities/permitted/0"), "CAP_NET_RAW");
  EXPECT_EQ(Str(d, "/permsentry/capabilities/effective"), "true");

  auto b = RecordBuilder(126);
  b.Flags(PS_OF_CREDS);
  b.ev.creds_before.cap_effective = 1;
  b.ev.creds_after.cap_effective = (1ull << 21);
  auto c = RenderJson(Decode(b.Build()));
  EXPECT_EQ(Str(c, "/permsentry/creds/capabilities_gained/0"), "CAP_SYS_ADMIN");
  EXPECT_EQ(Str(c, "/permsentry/creds/capabilities_lost/0"), "CAP_CHOWN");
}

// Hostile names: the event must stay one valid JSON line and the bytes recoverable.
class HostileName : public ::testing::TestWithParam<std::string> {};

TEST_P(HostileName, OneLineAndRecoverable) {
  const std::string& name = GetParam();
  auto ev = Decode(RecordBuilder(90).Arg(1, 0777).Path(name).Build());
  auto d = RenderJson(ev);
  const std::string path = Str(d, "/file/path");
  if (Str(d, "/file/path_escaped") == "true") {
    EXPECT_EQ(UnescapeBytes(path), name);
  } else {
    EXPECT_EQ(path, name);
  }
  // The text format is one line too.
  TextRenderer t;
  const std::string line = t.Render(ev);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
}

INSTANTIATE_TEST_SUITE_P(
    Names, HostileName,
    ::testing::Values(std::string("/tmp/new\nline"), std::string("/tmp/quo\"te"),
                      std::string("/tmp/back\\slash"), std::string("/tmp/\xff\xfe-bad-utf8"),
                      std::string("/tmp/\\xff-literal-and-\x80"), std::string("/tmp/tab\tcr\r"),
                      std::string("/tmp/\x1b[31mred"), std::string("/tmp/caf\xc3\xa9-ok-utf8"),
                      std::string("/tmp/\xed\xa0\x80-surrogate"),
                      std::string("/") + std::string(4094, 'x'),
                      std::string("/") + std::string(4093, '\n') + "\xff"),
    [](const ::testing::TestParamInfo<std::string>& info) {
      return "name" + std::to_string(info.index);  // the names themselves are unprintable
    });

// U+2028 and U+2029 are valid in a JSON string but end a line for JavaScript
// and some log shippers: written as escapes, decoded back to the same name.
TEST(RenderJson, LineSeparatorsAreEscaped) {
  const std::string name =
      "/tmp/a\xe2\x80\xa8"
      "b\xe2\x80\xa9"
      "c";
  const OpEvent ev = Decode(RecordBuilder(90).Arg(1, 0777).Path(name).Build());
  JsonRenderer r("testhost");
  const std::string line = r.Render(ev);
  EXPECT_EQ(line.find("\xe2\x80\xa8"), std::string::npos) << line;
  EXPECT_EQ(line.find("\xe2\x80\xa9"), std::string::npos) << line;
  EXPECT_NE(line.find("a\\u2028b\\u2029c"), std::string::npos) << line;
  EXPECT_EQ(Str(RenderJson(ev), "/file/path"), name);
}

// The writer's sixteen-byte scan: every byte that needs an escape, at every
// position of strings around the block size, round-trips through a JSON parser,
// and the line holds no raw control byte or U+2028/U+2029.
TEST(JsonWriter, HexMemberOfEveryByte) {
  std::string bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  for (size_t n : {0, 1, 28, 256}) {
    std::string out;
    JsonWriter w(&out);
    w.StartObject();
    w.HexMember("value_hex", absl::string_view(bytes).substr(256 - n));
    w.EndObject();
    EXPECT_EQ(
        w.view(),
        absl::StrCat("{\"value_hex\":\"",
                     absl::BytesToHexString(absl::string_view(bytes).substr(256 - n)), "\"}"));
  }
}

TEST(JsonWriter, EscapesAtEveryPositionOfABlock) {
  const std::vector<std::string> specials = {
      "\"",   "\\",           "\n",           std::string(1, '\0'), "\x1f",
      "\x7f", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x82\xac",       "\xc3\xa9"};
  for (size_t len = 0; len <= 40; ++len) {
    for (size_t at = 0; at <= len; ++at) {
      for (const std::string& sp : specials) {
        std::string v = std::string(at, 'a') + sp + std::string(len - at, 'b');
        std::string buf;
        JsonWriter w(&buf);
        w.StartObject();
        w.Key("k");
        w.String(v);
        w.Key("n");
        w.Uint(7);
        w.EndObject();
        const std::string text(w.view());
        rapidjson::Document d;
        d.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
        ASSERT_FALSE(d.HasParseError()) << text;
        ASSERT_EQ(std::string(d["k"].GetString(), d["k"].GetStringLength()), v) << text;
        ASSERT_EQ(d["n"].GetUint(), 7u);
        for (const char c : text) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << text;
        ASSERT_EQ(text.find("\xe2\x80\xa8"), std::string::npos);
        ASSERT_EQ(text.find("\xe2\x80\xa9"), std::string::npos);
      }
    }
  }
}

TEST(RenderJson, InvalidUtf8IsMarkedEscaped) {
  auto d = RenderJson(Decode(RecordBuilder(90).Path("/a\xff\\b").Build()));
  EXPECT_EQ(Str(d, "/file/path"), "/a\\xff\\\\b");
  EXPECT_EQ(Str(d, "/file/path_escaped"), "true");
}

// file.path and permsentry.path_arg: the second is copied from the first
// when they are the same bytes; each keeps its own "_escaped" flag, and an
// argument that differs from the path is escaped on its own.
TEST(RenderJson, PathArgBesideFilePath) {
  // Absolute: resolved from the argument, the same bytes.
  auto d = RenderJson(Decode(RecordBuilder(90).Path("/a\xff\\b").Build()));
  EXPECT_EQ(Str(d, "/permsentry/path_resolution"), "argument");
  EXPECT_EQ(Str(d, "/file/path"), "/a\\xff\\\\b");
  EXPECT_EQ(Str(d, "/permsentry/path_arg"), "/a\\xff\\\\b");
  EXPECT_EQ(Str(d, "/file/path_escaped"), "true");
  EXPECT_EQ(Str(d, "/permsentry/path_arg_escaped"), "true");
  // Normalised: the argument is its own bytes.
  d = RenderJson(Decode(RecordBuilder(90).Path("/x/./y\xfe//z").Build()));
  EXPECT_EQ(Str(d, "/file/path"), "/x/y\\xfe/z");
  EXPECT_EQ(Str(d, "/permsentry/path_arg"), "/x/./y\\xfe//z");
  EXPECT_EQ(Str(d, "/permsentry/path_arg_escaped"), "true");
  d = RenderJson(Decode(RecordBuilder(90).Path("/x/./y\"q\"").Build()));
  EXPECT_EQ(Str(d, "/file/path"), "/x/y\"q\"");
  EXPECT_EQ(Str(d, "/permsentry/path_arg"), "/x/./y\"q\"");
  EXPECT_EQ(Str(d, "/permsentry/path_arg_escaped"), "<missing>");
  // Relative, unresolved: file.path is the argument itself.
  d = RenderJson(Decode(
      RecordBuilder(268).Arg(0, static_cast<uint64_t>(-100)).Arg(2, 0644).Path("r\xe9l").Build()));
  EXPECT_EQ(Str(d, "/file/path"), "r\\xe9l");
  EXPECT_EQ(Str(d, "/permsentry/path_arg"), "r\\xe9l");
  EXPECT_EQ(Str(d, "/permsentry/path_arg_escaped"), "true");
}

TEST(RenderJson, LossReportIsAnAlert) {
  JsonRenderer r("h");
  const std::string line = r.Render(EventsLostAlert(absl::UnixEpoch(), 5, 1, 9, 1));
  rapidjson::Document d;
  d.Parse(line.c_str());
  ASSERT_FALSE(d.HasParseError());
  EXPECT_EQ(Str(d, "/event/kind"), "alert");
  EXPECT_EQ(Str(d, "/event/action"), "events_lost");
  EXPECT_EQ(Str(d, "/event/severity"), "73");
  EXPECT_EQ(Str(d, "/rule/id"), "sensor-events-lost");
  EXPECT_EQ(Str(d, "/permsentry/alert/severity"), "high");
  EXPECT_EQ(Str(d, "/permsentry/lost/bulk"), "5");
  EXPECT_EQ(Str(d, "/permsentry/lost/bulk_total"), "9");
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

TEST(TimestampFormatter, MicrosecondsAndSecondBoundaries) {
  TimestampFormatter f;
  EXPECT_EQ(f.Format(absl::FromUnixMicros(1795600357385001)), "2026-11-25T09:52:37.385001Z");
  EXPECT_EQ(f.Format(absl::FromUnixMicros(1795600357999999)), "2026-11-25T09:52:37.999999Z");
  EXPECT_EQ(f.Format(absl::FromUnixMicros(1795600358000000)), "2026-11-25T09:52:38.000000Z");
  EXPECT_EQ(f.Format(absl::FromUnixMicros(0)), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(f.Format(absl::FromUnixMicros(-1)), "1969-12-31T23:59:59.999999Z");
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

using testing::RenameOntoPasswd;

TEST(RenderJson, CredentialFileRename) {
  const rapidjson::Document d =
      RenderJson(Decode(RenameOntoPasswd()),
                 std::make_shared<const std::vector<WatchEntry>>(DefaultWatchList()));
  EXPECT_EQ(Str(d, "/event/action"), "credfile_rename");
  EXPECT_EQ(Str(d, "/file/path"), "/etc/passwd");
  EXPECT_EQ(Str(d, "/permsentry/path_resolution"), "kernel_parent");
  EXPECT_EQ(Str(d, "/permsentry/path_arg"), "/etc/sedX1");
  EXPECT_EQ(Str(d, "/permsentry/path2_arg"), "/etc/passwd");
  EXPECT_EQ(Str(d, "/permsentry/watch/class"), "passwd");
  EXPECT_EQ(Str(d, "/permsentry/watch/entry"), "/etc/passwd");
  EXPECT_EQ(Str(d, "/permsentry/watch/match"), "inode");
  EXPECT_EQ(Str(d, "/permsentry/watch/side"), "destination");
  EXPECT_EQ(Str(d, "/permsentry/file/mode_before"), "0644");
  EXPECT_EQ(Str(d, "/file/mode"), "0666");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/0"),
            "replaced by rename (a new inode holds the name)");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/1"), "group root (0): +w");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/2"), "others: +w");
  EXPECT_NE(Str(d, "/message").find("[credential file: passwd]"), std::string::npos)
      << Str(d, "/message");
}

TEST(RenderJson, WatchClassOutsideTheListIsUnnamed) {
  // Events can outlive a reload that shortened the list: no class, no crash.
  const rapidjson::Document d =
      RenderJson(Decode(RenameOntoPasswd()), std::make_shared<const std::vector<WatchEntry>>());
  EXPECT_EQ(Str(d, "/permsentry/watch/class"), "<missing>");
  EXPECT_EQ(Str(d, "/permsentry/watch/match"), "inode");
}

TEST(RenderJson, OpenForWriteFlags) {
  auto d = RenderJson(Decode(RecordBuilder(257)  // openat
                                 .Arg(0, static_cast<uint64_t>(-100))
                                 .Arg(3, 0600)
                                 .Path("/etc/shadow")
                                 .OpenFlags(O_WRONLY | O_CREAT | O_TRUNC)
                                 .Resolved("/etc/shadow", PS_PATH_OBJECT)
                                 .Watched(1, PS_WM_OBJECT)
                                 .Ret(3)
                                 .Build()));
  EXPECT_EQ(Str(d, "/event/action"), "credfile_write");
  EXPECT_EQ(Str(d, "/permsentry/open_flags"), "O_WRONLY|O_CREAT|O_TRUNC");
  EXPECT_EQ(Str(d, "/permsentry/create_mode"), "0600");
  EXPECT_EQ(Str(d, "/permsentry/path_resolution"), "kernel_fd");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/0"), "contents replaced (opened with O_TRUNC)");
}

TEST(RenderJson, IoUringSubmissionOutcomeUnknown) {
  auto d = RenderJson(Decode(RecordBuilder::IoUring(35)  // IORING_OP_RENAMEAT
                                 .Arg(0, static_cast<uint64_t>(-100))
                                 .Arg(2, static_cast<uint64_t>(-100))
                                 .Path("/tmp/x")
                                 .Path2("/etc/passwd")
                                 .Resolved("/etc", PS_PATH_PARENT)
                                 .Watched(0, PS_WM_NAME | PS_WM_PATH2)
                                 .Build()));
  EXPECT_EQ(Str(d, "/event/action"), "credfile_rename");
  EXPECT_EQ(Str(d, "/event/outcome"), "unknown");
  EXPECT_EQ(Str(d, "/permsentry/syscall"), "io_uring_renameat");
  EXPECT_EQ(Str(d, "/permsentry/io_uring/opcode"), "35");
  EXPECT_EQ(Str(d, "/permsentry/return_value"), "<missing>");
  EXPECT_EQ(Str(d, "/file/path"), "/etc/passwd");
  EXPECT_NE(Str(d, "/message").find("submitted via io_uring"), std::string::npos);
}

TEST(RenderJson, BeforeUnknownSaysWhy) {
  auto d = RenderJson(Decode(
      RecordBuilder(90).Arg(1, 0644).Path("/gone").Lookup(PS_LK_DONE | PS_LK_ABSENT).Build()));
  EXPECT_EQ(Str(d, "/permsentry/file/before_unknown"), "true");
  EXPECT_EQ(Str(d, "/permsentry/file/before_unknown_reason"), "absent");
  auto found = RenderJson(Decode(RecordBuilder(90)
                                     .Arg(1, 0644)
                                     .Path("/x/../y")
                                     .Before(0100600, 0, 0)
                                     .After(0100644, 0, 0)
                                     .Lookup(PS_LK_DONE | PS_LK_DOTDOT | PS_LK_SYMLINK)
                                     .Resolved("/real/y", PS_PATH_OBJECT)
                                     .Build()));
  EXPECT_EQ(Str(found, "/file/path"), "/real/y");
  EXPECT_EQ(Str(found, "/permsentry/path_resolution"), "kernel_lookup");
  EXPECT_EQ(Str(found, "/permsentry/path_caveats/0"), "via_symlink");
  EXPECT_EQ(Str(found, "/permsentry/file/state_source"), "kernel_lookup");
}

TEST(RenderJson, AiAttribution) {
  OpEvent ev = Decode(RecordBuilder(90).Arg(1, 04755).Path("/tmp/x").Build());
  ev.proc.tty = (136u << 20) | 2;
  auto ai = std::make_shared<Attribution>();
  ai->kind = Attribution::Kind::kAgent;
  ai->agent = "claude";
  ai->session_id = "claude-812-5000";
  ai->root_pid = 812;
  ai->evidence = {"pid 812 claude: env CLAUDECODE=1", "inherited through sudo (pid 905)"};
  ai->ancestry = {{.pid = 4242, .name = "tester", .executable = "/usr/bin/\xff\n"},
                  {.pid = 812, .name = "claude", .executable = ""}};
  ev.ai = ai;
  const rapidjson::Document d = RenderJson(ev);
  EXPECT_EQ(Str(d, "/permsentry/ai/attribution"), "agent");
  EXPECT_EQ(Str(d, "/permsentry/ai/agent"), "claude");
  EXPECT_EQ(Str(d, "/permsentry/ai/session_id"), "claude-812-5000");
  EXPECT_EQ(Str(d, "/permsentry/ai/root_pid"), "812");
  EXPECT_EQ(Str(d, "/permsentry/ai/evidence/0"), "pid 812 claude: env CLAUDECODE=1");
  EXPECT_EQ(Str(d, "/permsentry/ancestry/1/pid"), "812");
  EXPECT_EQ(Str(d, "/permsentry/ancestry/1/executable"), "<missing>");
  EXPECT_EQ(Str(d, "/permsentry/tty"), "pts/2");
  // ECS's gen_ai.agent.* beside permsentry.ai.
  EXPECT_EQ(Str(d, "/gen_ai/agent/name"), "claude");
  EXPECT_EQ(Str(d, "/gen_ai/agent/id"), "claude-812-5000");
  EXPECT_NE(Str(d, "/message").find("[AI agent claude, session claude-812-5000]"),
            std::string::npos)
      << Str(d, "/message");

  EXPECT_EQ(Str(d, "/process/executable"), "<missing>");  // no program known: none shown

  ev.ai = nullptr;
  const rapidjson::Document n = RenderJson(ev);
  EXPECT_EQ(Str(n, "/permsentry/ai/attribution"), "none");
  EXPECT_EQ(Str(n, "/permsentry/ai/agent"), "<missing>");
  EXPECT_EQ(Str(n, "/gen_ai/agent/name"), "<missing>");
}

}  // namespace
}  // namespace permsentry

namespace permsentry {
namespace {

// The rich backend: paths and state are the kernel's objects, no arguments.
TEST(RenderJson, RichChmodHasNoArguments) {
  auto d = RenderJson(Decode(RecordBuilder::Rich(Op::kMode, 268)  // fchmodat
                                 .Resolved("/etc/sudoers.d/x", PS_PATH_OBJECT)
                                 .Mode(0442)
                                 .Before(0100440, 0, 0)
                                 .After(0100442, 0, 0)
                                 .Flags(PS_OF_OBJECT)
                                 .Build()));
  EXPECT_EQ(Str(d, "/event/action"), "chmod");
  EXPECT_EQ(Str(d, "/event/outcome"), "success");
  EXPECT_EQ(Str(d, "/permsentry/operation"), "mode");
  EXPECT_EQ(Str(d, "/permsentry/hook"), "fentry");
  EXPECT_EQ(Str(d, "/permsentry/syscall"), "fchmodat");
  EXPECT_EQ(Str(d, "/file/path"), "/etc/sudoers.d/x");
  EXPECT_EQ(Str(d, "/permsentry/path_resolution"), "kernel_path");
  EXPECT_EQ(Str(d, "/permsentry/file/state_source"), "kernel_inode");
  EXPECT_EQ(Str(d, "/permsentry/file/mode_before"), "0440");
  EXPECT_EQ(Str(d, "/file/mode"), "0442");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/0"), "others: +w");
  for (const char* absent : {"/permsentry/path_arg", "/permsentry/return_value",
                             "/permsentry/dirfd", "/permsentry/at_flags"})
    EXPECT_EQ(Str(d, absent), "<missing>") << absent;
}

// A rename seen by the rich backend: both names are the kernel's.
TEST(RenderJson, RichRenameNamesBothSides) {
  const rapidjson::Document d =
      RenderJson(Decode(RecordBuilder::Rich(Op::kRename, 82)
                            .Resolved("/etc/.pw.tmp", PS_PATH_OBJECT)
                            .Resolved2("/etc/passwd", PS_PATH_OBJECT)
                            .Watched(0, PS_WM_OBJECT | PS_WM_PATH2)
                            .Before(0100644, 0, 0, 7)
                            .After(0100600, 0, 0, 8)
                            .Build()),
                 std::make_shared<const std::vector<WatchEntry>>(DefaultWatchList()));
  EXPECT_EQ(Str(d, "/event/action"), "credfile_rename");
  EXPECT_EQ(Str(d, "/file/path"), "/etc/passwd");
  EXPECT_EQ(Str(d, "/permsentry/from_path"), "/etc/.pw.tmp");
  EXPECT_EQ(Str(d, "/permsentry/to_path"), "/etc/passwd");
  EXPECT_EQ(Str(d, "/permsentry/watch/side"), "destination");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/0"),
            "replaced by rename (a new inode holds the name)");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/1"), "group root (0): -r");
}

// Credentials changed by a syscall outside the table (unshare of a user
// namespace): named by number, and full capabilities inside a new user
// namespace are not a gain over the host.
TEST(RenderJson, RichCredsInANewUserNamespace) {
  auto b = RecordBuilder::Rich(Op::kCreds, 272);
  b.Flags(PS_OF_CREDS);
  b.ev.creds_before = ps_creds{.uid = 1000, .euid = 1000, .userns = 4026531837u};
  b.ev.creds_after = ps_creds{.uid = 1000,
                              .euid = 1000,
                              .cap_permitted = 0x1ffffffffffULL,
                              .cap_effective = 0x1ffffffffffULL,
                              .userns = 4026532400u};
  auto d = RenderJson(Decode(b.Build()));
  EXPECT_EQ(Str(d, "/event/action"), "unshare");
  EXPECT_EQ(Str(d, "/event/category/0"), "process");
  EXPECT_EQ(Str(d, "/permsentry/syscall"), "unshare");
  EXPECT_EQ(Str(d, "/permsentry/creds/new_user_namespace"), "true");
  EXPECT_EQ(Str(d, "/permsentry/creds/capabilities_gained/0"), "<missing>");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/0"),
            "entered user namespace 4026532400 (its capabilities hold there)");
}

// An exec that gave new credentials: the binary is the object.
TEST(RenderJson, RichExecSetid) {
  auto b = RecordBuilder::Rich(Op::kExecCreds, 59)
               .Resolved("/usr/bin/passwd", PS_PATH_OBJECT)
               .Text("/usr/bin/passwd")
               .Before(0104755, 0, 0)
               .After(0104755, 0, 0);
  b.Flags(PS_OF_CREDS);
  b.ev.creds_before = ps_creds{.uid = 1000, .euid = 1000, .suid = 1000, .fsuid = 1000};
  b.ev.creds_after = ps_creds{.uid = 1000, .euid = 0, .suid = 0, .fsuid = 0};
  auto d = RenderJson(Decode(b.Build()));
  EXPECT_EQ(Str(d, "/event/action"), "exec_setid");
  EXPECT_EQ(Str(d, "/event/type/0"), "start");
  EXPECT_EQ(Str(d, "/file/path"), "/usr/bin/passwd");
  EXPECT_EQ(Str(d, "/file/mode"), "04755");
  EXPECT_EQ(Str(d, "/permsentry/executable"), "/usr/bin/passwd");
  EXPECT_EQ(Str(d, "/permsentry/creds/after/euid"), "0");
  EXPECT_EQ(Str(d, "/permsentry/access_delta/0"), "euid 1000 -> 0 (root)");
  EXPECT_NE(Str(d, "/message").find("exec of \"/usr/bin/passwd\" with new credentials"),
            std::string::npos)
      << Str(d, "/message");
}

// io_uring requests the rich backend saw where the kernel ran them: the result
// is known.
TEST(RenderJson, RichIoUringHasItsResult) {
  auto d = RenderJson(Decode(RecordBuilder::Rich(Op::kUnlink)
                                 .Flags(PS_OF_IO_URING)
                                 .Resolved("/etc/sudoers.d/x", PS_PATH_OBJECT)
                                 .Watched(2, PS_WM_DIR_ENTRY)
                                 .Before(0100440, 0, 0)
                                 .Ret(-13)
                                 .Build()));
  EXPECT_EQ(Str(d, "/permsentry/io_uring/executed"), "true");
  EXPECT_EQ(Str(d, "/event/outcome"), "failure");
  EXPECT_EQ(Str(d, "/permsentry/errno"), "EACCES");
  EXPECT_EQ(Str(d, "/permsentry/syscall"), "<missing>");
}

// process.executable and process.args: the program the process runs, as its
// exec left it; arguments are any bytes a caller chose.
TEST(RenderJson, ProcessExecutableAndArgs) {
  OpEvent ev = Decode(RecordBuilder(90).Arg(1, 0640).Path("/tmp/x").Build());
  auto ai = std::make_shared<Attribution>();
  ai->executable = "/usr/bin/chmod";
  ai->args = {"chmod", "0640", "/tmp/x\n{\"forged\":1}"};
  ev.ai = ai;
  rapidjson::Document d = RenderJson(ev);
  EXPECT_EQ(Str(d, "/process/executable"), "/usr/bin/chmod");
  EXPECT_EQ(Str(d, "/process/args/0"), "chmod");
  EXPECT_EQ(Str(d, "/process/args/2"), "/tmp/x\n{\"forged\":1}");
  EXPECT_EQ(Str(d, "/process/args_count"), "3");
  EXPECT_EQ(Str(d, "/process/args_truncated"), "<missing>");
  auto cut = std::make_shared<Attribution>(*ai);
  cut->args = {"node", "/a/very/lo"};
  cut->args_truncated = true;
  ev.ai = cut;  // a new attribution: the process block is not the cached one
  d = RenderJson(ev);
  EXPECT_EQ(Str(d, "/process/args/1"), "/a/very/lo");
  EXPECT_EQ(Str(d, "/process/args_truncated"), "true");
}

}  // namespace
}  // namespace permsentry
