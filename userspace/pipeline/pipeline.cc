#include "pipeline/pipeline.h"

#include <fcntl.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "render/tail_text.h"

namespace permsentry {
namespace {

constexpr size_t kFlushBytes = 256 << 10;

TailMeta MetaOf(const OpEvent& ev, const Enriched& en, const AlertInfo* alert) {
  TailMeta m;
  m.alert = alert != nullptr && !alert->coalesced;
  if (alert != nullptr) m.severity = alert->severity;
  if (ev.ai) m.attribution = ev.ai->kind;
  m.action = ev.action;
  if (const std::string* p = ShownPath(ev, en)) m.path = *p;
  m.time = ev.time;
  return m;
}

// What the rules decided, self-contained (a reload replaces the rule set);
// `repeats` > 0 for a summary of repeats between `first` and `last`.
AlertInfo AlertOf(Decision&& d, uint64_t repeats, absl::Time first, absl::Time last) {
  AlertInfo a{.rule_id = d.rule->id,
              .rule_name = d.rule->name,
              .message = std::move(d.message),
              .severity = d.severity,
              .base_severity = d.base,
              .matched = {},
              .coalesced = false,
              .repeats = repeats,
              .first_seen = first,
              .last_seen = last};
  for (const Rule* r : d.matched) a.matched.push_back(r->id);
  return a;
}

}  // namespace

Pipeline::Pipeline(StdoutWriter* out, TailServer* tail, SinkSet* sinks, std::string hostname,
                   int64_t boot_to_realtime_ns)
    : out_(out),
      tail_(tail),
      sinks_(sinks),
      decode_options_{.boot_to_realtime_ns = boot_to_realtime_ns},
      rules_(std::make_shared<const RuleSet>()),
      coalescer_(std::make_unique<Coalescer>(absl::ZeroDuration())),
      json_(std::move(hostname)) {}

void Pipeline::SetStdout(const StdoutOptions& o) {
  stdout_ = o;
  text_ = o.json ? nullptr : std::make_unique<TextRenderer>(o.color);
  if (text_) text_->SetWatchList(watch_list_);
}

void Pipeline::SetRules(std::shared_ptr<const RuleSet> rules) {
  rules_ = std::move(rules);
  coalescer_->set_window(rules_->coalesce_window);
}

void Pipeline::SetWatchList(std::shared_ptr<const std::vector<WatchEntry>> list) {
  watch_list_ = std::move(list);
  json_.SetWatchList(watch_list_);
  if (text_) text_->SetWatchList(watch_list_);
}

uint64_t ActionCounts::Get(absl::string_view action, Result r) const {
  uint64_t n = 0;
  ForEach([&](absl::string_view a, Result res, uint64_t c) {
    if (a == action && res == r) n += c;
  });
  return n;
}

void ActionCounts::ForEach(
    const std::function<void(absl::string_view, Result, uint64_t)>& f) const {
  const std::vector<std::string>& actions = Actions();
  for (size_t i = 0; i < by_index_.size(); ++i)
    for (size_t r = 0; r < 3; ++r)
      if (by_index_[i][r] != 0) f(actions[i], static_cast<Result>(r), by_index_[i][r]);
  for (const auto& [k, n] : other_) f(k.first, k.second, n);
}

RecordOutcome Pipeline::OnRecord(absl::Span<const uint8_t> record) {
  RecordOutcome out;
  alerted_ = false;
  // Never silent: counted, reported in the summary, the first few shown.
  const auto undecodable = [&](const absl::Status& s) {
    if (++counters_.undecodable <= 5)
      std::fprintf(stderr, "permsentry: undecodable record: %s\n",
                   std::string(s.message()).c_str());
    return out;
  };
  if (RecordType(record) == PS_EV_PROC) {
    absl::StatusOr<ProcEvent> pe = DecodeProcEvent(record, decode_options_);
    if (!pe.ok()) return undecodable(pe.status());
    table_.Apply(*pe, absl::Now());
    out.sessions_changed = pe->kind == ProcEvent::Kind::kExec && (pe->flags & PS_PF_SESSION_ROOT);
    return out;
  }
  if (RecordType(record) == PS_EV_REPEATS) {
    absl::StatusOr<RepeatsEvent> r = DecodeRepeatsEvent(record, decode_options_);
    if (!r.ok()) return undecodable(r.status());
    OnRepeats(*r);
    out.alerted = alerted_;
    return out;
  }
  const ScratchScope scratch(*this);
  OpEvent& ev = scratch->ev;
  if (absl::Status s = DecodeOpEventInto(record, decode_options_, ev); !s.ok())
    return undecodable(s);
  ++counters_.events;
  counters_.events_by_action.Add(ev.action_index, ev.action, ev.result);
  OnOperation(ev, scratch->en, out);
  if (ev.coalesce_id != 0) {
    // Kept raw (a copy into reused capacity, no decoding): most records are
    // never repeated.
    CoalescedRecord& c = coalescing_[static_cast<uint32_t>(ev.coalesce_id & 0xffffff)];
    c.id = ev.coalesce_id;
    c.raw.assign(record.begin(), record.end());
    c.ai = ev.ai;
  }
  out.alerted = alerted_;
  return out;
}

void Pipeline::OnRepeats(const RepeatsEvent& r) {
  const auto it = coalescing_.find(static_cast<uint32_t>(r.coalesce_id & 0xffffff));
  if (it == coalescing_.end() || it->second.id != r.coalesce_id) {
    // The kernel counts repeats only of a record it sent, and sends the count
    // after it: this is a record lost on the way (undecodable), still counted.
    counters_.repeats_unmatched += r.repeats;
    if (counters_.repeats_unmatched == r.repeats)
      std::fprintf(stderr, "permsentry: %llu repeats of a record never seen\n",
                   static_cast<unsigned long long>(r.repeats));
    return;
  }
  absl::StatusOr<OpEvent> ev = DecodeOpEvent(it->second.raw, decode_options_);
  if (!ev.ok()) return;  // decoded once already
  ev->ai = it->second.ai;
  if (r.final) coalescing_.erase(it);
  counters_.kernel_repeats += r.repeats;
  counters_.events_by_action.Add(ev->action_index, ev->action, ev->result, r.repeats);
  ev->coalesce_id = 0;
  ev->repeats = r.repeats;
  ev->repeats_first = r.first;
  ev->repeats_last = r.last;
  ev->time = r.last;
  ev->ktime_ns = r.last_ktime_ns;
  const Enriched en = Enrich(*ev, names_, symlinks_, watch_list_.get());
  const Facts facts = FactsOf(*ev, en);
  std::optional<Decision> d = rules_->Evaluate(facts, names_);
  if (!d) {
    Emit(*ev, en, nullptr, false);
    return;
  }
  // The record alerted: these are that alert's repeats, summarised.
  AlertInfo a = AlertOf(std::move(*d), r.repeats, r.first, r.last);
  Emit(*ev, en, &a, true);
}

void Pipeline::OnOperation(OpEvent& ev, Enriched& en, RecordOutcome& out) {
  // An alert candidate can overtake the fork and exec records of its own
  // process (they travel in the bulk ring): fetch them before attributing. A
  // process whose entry still names another program (bash that exec'd chmod)
  // has an exec record on its way.
  if (ev.urgent && drain_bulk_) {
    const ProcEntry* e = table_.Find(ev.proc.key());
    if (e == nullptr || e->comm != ev.proc.comm ||
        (!ev.ai_session.empty() && table_.Session(ev.ai_session) == nullptr)) {
      drain_bulk_();
    }
  }
  ev.ai = attribution_cache_.Get(SubjectOf(ev), table_);
  if (ev.ai->kind != Attribution::Kind::kNone) {
    if (AiSession* m = table_.MutableSession(ev.ai->session_root); m != nullptr) {
      ++(ev.ai->kind == Attribution::Kind::kAgent ? m->agent_changes : m->assisted_changes);
      out.sessions_changed = true;
    }
  }
  // A mount or unmount can put other inodes at watched names: the watch list
  // follows at once (mounts are rare).
  if ((ev.op == Op::kMount || ev.op == Op::kUmount) && ev.success()) out.watch_changed = true;
  if (ev.watch && ev.success()) {
    const Op op = ev.op;
    if (op == Op::kRename || op == Op::kLink || op == Op::kSymlink || op == Op::kUnlink ||
        op == Op::kCreate || op == Op::kMkdir || op == Op::kMknod ||
        (op == Op::kWriteOpen && (ev.open_flags.value_or(0) & O_CREAT)))
      out.watch_changed = true;
  }

  EnrichInto(ev, names_, symlinks_, watch_list_.get(), en);
  const Facts facts = FactsOf(ev, en);
  std::optional<Decision> d = rules_->Evaluate(facts, names_);
  if (!d) {
    Emit(ev, en, nullptr, false);
    return;
  }
  AlertInfo a = AlertOf(std::move(*d), 0, ev.time, ev.time);
  CoalesceKey key{.rule_id = a.rule_id,
                  .process = ev.proc.key(),
                  .path = facts.path ? *facts.path : std::string(),
                  .change = absl::StrCat(ev.action, ":", absl::StrJoin(en.delta, ";"))};
  if (!coalescer_->Admit(std::move(key), absl::Now(), ev, a)) {
    // A repeat: still an event in the stream, marked, and counted into the
    // summary that goes out when the window closes.
    a.coalesced = true;
    ++counters_.coalesced;
    Emit(ev, en, &a, false);
    return;
  }
  Emit(ev, en, &a, true);
}

void Pipeline::Emit(const OpEvent& ev, const Enriched& en, const AlertInfo* alert, bool send) {
  const bool is_alert = alert != nullptr && !alert->coalesced;
  const bool to_stdout =
      !stdout_.alerts_only || (is_alert && alert->severity >= stdout_.min_severity);
  const bool to_sinks = send && sinks_ != nullptr && !sinks_->empty();
  const bool need_json = tail_ != nullptr || (to_stdout && stdout_.json) || to_sinks;
  // A line for stdout is rendered where it goes out; it is copied only when
  // the tail or a sink keeps it.
  const bool in_place = to_stdout && stdout_.json;
  absl::string_view line;
  if (in_place) {
    const StdoutWriter::Space space = out_->Reserve(is_alert);
    line = json_.RenderLineInto(space.data, space.at, ev, en, alert);
  } else if (need_json) {
    line = json_.RenderLine(ev, en, alert);
  }
  std::shared_ptr<std::string> json;
  if (to_sinks) json = std::make_shared<std::string>(line);
  if (to_stdout) {
    if (stdout_.json) {
      out_->Commit(is_alert, line.size());
    } else {
      out_->Append(text_->Render(ev, en, alert), is_alert);
    }
    // A drained backlog is written in pieces: one buffer for all of it would
    // grow to the ring's size and fault in fresh pages every time.
    if (out_->size() >= kFlushBytes) (void)out_->Flush();
  }
  if (tail_ != nullptr) tail_->Publish(line, MetaOf(ev, en, alert));
  if (send) {
    ++counters_.alerts;
    ++counters_.alerts_by_rule[{alert->rule_id, alert->severity}];
    alerted_ = true;
    if (to_sinks) sinks_->Dispatch(Record(ev, en, *alert, *json));
  }
}

std::shared_ptr<const AlertRecord> Pipeline::Record(const OpEvent& ev, const Enriched& en,
                                                    const AlertInfo& a, const std::string& json) {
  auto r = std::make_shared<AlertRecord>();
  r->time = ev.time;
  r->severity = a.severity;
  r->rule_id = a.rule_id;
  r->rule_name = a.rule_name;
  r->message = NoControls(AlertMessage(a));   // built of escaped parts already
  r->json = json.substr(0, json.size() - 1);  // without its newline
  auto add = [&](const char* k, std::string v) { r->fields.emplace_back(k, std::move(v)); };
  add("RULE", a.rule_id);
  add("SEVERITY", std::string(SeverityName(a.severity)));
  add("ACTION", std::string(ev.action));
  add("OPERATION", std::string(OpName(ev.op)));
  if (ev.sc != nullptr) add("SYSCALL", std::string(ev.sc->name));
  if (const std::string* p = ShownPath(ev, en)) add("PATH", EscapeBytes(*p).text);
  add("PID", absl::StrCat(ev.proc.pid));
  add("PROCESS", EscapeBytes(ev.proc.comm).text);
  add("UID", absl::StrCat(ev.proc.uid));
  if (auto n = names_.UserName(ev.proc.uid)) add("USER", *n);
  const Attribution::Kind kind = ev.ai ? ev.ai->kind : Attribution::Kind::kNone;
  add("AI_ATTRIBUTION", AttributionName(kind));
  if (kind != Attribution::Kind::kNone) {
    if (!ev.ai->agent.empty()) add("AI_AGENT", EscapeBytes(ev.ai->agent).text);
    if (!ev.ai->session_id.empty()) add("AI_SESSION", EscapeBytes(ev.ai->session_id).text);
    add("AI_ROOT_PID", absl::StrCat(ev.ai->root_pid));
  }
  if (a.repeats > 0) add("REPEATS", absl::StrCat(a.repeats));
  return r;
}

bool Pipeline::Tick(absl::Time now, bool flush) {
  bool any = false;
  for (Coalescer::Summary& s : coalescer_->Collect(now, flush)) {
    if (!s.repeat) continue;
    RepeatedAlert& r = *s.repeat;
    AlertInfo a = r.alert;
    a.coalesced = false;
    a.repeats = s.repeats;
    a.first_seen = s.first;
    a.last_seen = r.ev.time;
    const Enriched en = Enrich(r.ev, names_, symlinks_, watch_list_.get());
    Emit(r.ev, en, &a, true);
    any = true;
  }
  return any;
}

void Pipeline::OnHealth(const HealthAlert& h) {
  auto json = std::make_shared<std::string>(json_.Render(h));
  if (!stdout_.alerts_only || h.severity >= stdout_.min_severity)
    out_->Append(stdout_.json ? *json : text_->Render(h), /*alert=*/true);
  if (tail_ != nullptr) {
    TailMeta m{.alert = true,
               .severity = h.severity,
               .attribution = Attribution::Kind::kNone,
               .action = h.action,
               .path = {},
               .time = h.time};
    tail_->Publish(*json, m);
  }
  if (sinks_ != nullptr && !sinks_->empty()) {
    auto r = std::make_shared<AlertRecord>();
    r->time = h.time;
    r->severity = h.severity;
    r->rule_id = h.rule_id;
    r->rule_name = h.rule_name;
    r->message = h.message;
    r->json = json->substr(0, json->size() - 1);
    r->fields = {{"RULE", h.rule_id},
                 {"SEVERITY", std::string(SeverityName(h.severity))},
                 {"ACTION", h.action}};
    sinks_->Dispatch(r);
  }
  ++counters_.alerts;
  ++counters_.alerts_by_rule[{h.rule_id, h.severity}];
}

}  // namespace permsentry
