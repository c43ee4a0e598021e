// The CAF (0.17) peer of troupe's benchmarks (bench/README.md says what each
// does): the same nine shapes, sizes and checks, written with CAF's
// event-based actors (stateful function-based actors, atom constants as
// message tags) on a work-stealing scheduler with WORKERS threads
// (scheduler.max-threads).
//
// Usage: peer NAME [divisor]. One BENCH line (impl=caf) on stdout.
//
// Each benchmark times from its first spawn to its last reply: the actor that
// sees the end of the work stamps the time (mark_end) and tells main, which
// waits in a scoped_actor. CAF mailboxes are unbounded, so where troupe bounds
// one (counting, fanout_backpressure) the senders run ahead and rss_kb shows
// what that costs.
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace caf;

namespace {

// -- message tags ------------------------------------------------------------

using ball_atom = atom_constant<atom("ball")>;
using go_atom = atom_constant<atom("go")>;
using stop_atom = atom_constant<atom("stop")>;
using next_atom = atom_constant<atom("next")>;
using token_atom = atom_constant<atom("token")>;
using done_atom = atom_constant<atom("done")>;
using report_atom = atom_constant<atom("report")>;
using pair_atom = atom_constant<atom("pair")>;
using lead_atom = atom_constant<atom("lead")>;
using follow_atom = atom_constant<atom("follow")>;
using hit_atom = atom_constant<atom("hit")>;

// -- timing, memory, the BENCH line -------------------------------------------

using clk = std::chrono::steady_clock;

// Stamped by the actor that sees the end of the work; read by main after the
// actor's message to it (the mailbox orders the two).
clk::time_point g_end;

void mark_end() {
  g_end = clk::now();
}

double secs_since(clk::time_point t0, clk::time_point t1) {
  return std::chrono::duration<double>(t1 - t0).count();
}

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  size_t len = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, len, field) == 0 && line.size() > len && line[len] == ':')
      return std::atol(line.c_str() + len + 1);
  return -1;
}

size_t g_workers;

int report(const char* name, int64_t n, double secs, bool ok, const std::string& extra = "") {
  std::printf("BENCH name=%s impl=caf workers=%zu n=%lld secs=%.3f rate=%lld rss_kb=%ld check=%s%s\n",
              name, g_workers, static_cast<long long>(n), secs,
              static_cast<long long>(static_cast<double>(n) / secs), status_kb("VmHWM"),
              ok ? "ok" : "FAIL", extra.c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

int64_t scaled(int64_t size, int64_t divisor) {
  int64_t x = size / divisor;
  return x < 1 ? 1 : x;
}

// -- pingpong ----------------------------------------------------------------

behavior pong(event_based_actor* self) {
  return {
    [](ball_atom, int64_t x) { return std::make_tuple(ball_atom::value, x + 1); },
    [=](stop_atom) { self->quit(); },
  };
}

struct ping_state {
  int64_t replies = 0;
};

behavior ping(stateful_actor<ping_state>* self, actor pong, int64_t rounds, actor main) {
  self->send(pong, ball_atom::value, int64_t{0});
  return {
    [=](ball_atom, int64_t x) {
      if (++self->state.replies < rounds) {
        self->send(pong, ball_atom::value, x);
        return;
      }
      mark_end();
      self->send(pong, stop_atom::value);
      self->send(main, done_atom::value, self->state.replies);
      self->quit();
    },
  };
}

int run_pingpong(actor_system& sys, int64_t div) {
  int64_t rounds = scaled(1000000, div);
  scoped_actor main{sys};
  auto t0 = clk::now();
  auto p = sys.spawn(pong);
  sys.spawn(ping, p, rounds, actor{main});
  int64_t replies = -1;
  main->receive([&](done_atom, int64_t r) { replies = r; });
  return report("pingpong", 2 * rounds, secs_since(t0, g_end), replies == rounds);
}

// -- counting ----------------------------------------------------------------

constexpr int count_senders = 100;
constexpr int64_t count_chunk = 100;

struct counter_state {
  int64_t count = 0, sum = 0;
};

behavior counter(stateful_actor<counter_state>* self, int64_t expected, actor main) {
  return {
    [=](int64_t v) {
      auto& s = self->state;
      s.sum += v;
      if (++s.count < expected)
        return;
      mark_end();
      self->send(main, done_atom::value, s.count, s.sum);
      self->quit();
    },
  };
}

struct sender_state {
  int64_t next = 0;
};

// Sends first, first + 1, ... end - 1 to `to`, chunk values per go_atom, and
// sends itself go_atom to go on (counting's senders, fanout_backpressure's
// producer).
behavior sender(stateful_actor<sender_state>* self, actor to, int64_t first, int64_t end,
                int64_t chunk) {
  self->state.next = first;
  return {
    [=](go_atom) {
      auto& s = self->state;
      int64_t stop = std::min(s.next + chunk, end);
      for (; s.next < stop; ++s.next)
        self->send(to, s.next);
      if (s.next == end)
        self->quit();
      else
        self->send(self, go_atom::value);
    },
  };
}

int run_counting(actor_system& sys, int64_t div) {
  int64_t per_sender = scaled(100000, div);
  int64_t total = count_senders * per_sender;
  scoped_actor main{sys};
  auto t0 = clk::now();
  auto c = sys.spawn(counter, total, actor{main});
  for (int i = 0; i < count_senders; ++i)
    anon_send(sys.spawn(sender, c, int64_t{1}, per_sender + 1, count_chunk), go_atom::value);
  int64_t count = -1, sum = -1;
  main->receive([&](done_atom, int64_t n, int64_t s) {
    count = n;
    sum = s;
  });
  bool ok = count == total && sum == count_senders * (per_sender * (per_sender + 1) / 2);
  return report("counting", total, secs_since(t0, g_end), ok);
}

// -- ring --------------------------------------------------------------------

constexpr int ring_size = 1000;

struct link_state {
  actor next;
};

behavior ring_link(stateful_actor<link_state>* self, int64_t hops_wanted, actor main) {
  return {
    [=](next_atom, actor& next) { self->state.next = std::move(next); },
    [=](token_atom, int64_t hops) {
      if (hops < hops_wanted) {
        self->send(self->state.next, token_atom::value, hops + 1);
        return;
      }
      mark_end();
      self->send(main, done_atom::value, hops);
    },
  };
}

int run_ring(actor_system& sys, int64_t div) {
  int64_t hops_wanted = scaled(10000000, div);
  scoped_actor main{sys};
  std::vector<actor> ring;
  ring.reserve(ring_size);
  auto t0 = clk::now();
  for (int i = 0; i < ring_size; ++i)
    ring.push_back(sys.spawn(ring_link, hops_wanted, actor{main}));
  for (int i = 0; i < ring_size; ++i)
    anon_send(ring[i], next_atom::value, ring[(i + 1) % ring_size]);
  anon_send(ring[0], token_atom::value, int64_t{0});
  int64_t seen = -1;
  main->receive([&](done_atom, int64_t hops) { seen = hops; });
  double secs = secs_since(t0, g_end);
  for (auto& l : ring)
    anon_send_exit(l, exit_reason::user_shutdown);
  return report("ring", hops_wanted, secs, seen == hops_wanted);
}

// -- skynet ------------------------------------------------------------------

struct node_state {
  int64_t sum = 0;
  int pending = 10;
};

// A node of the tree: spawns its 10 children (each told its part of the
// tree), sums their replies and replies the sum to its parent; a leaf replies
// its index at once.
behavior skynet(stateful_actor<node_state>* self, actor parent, int64_t first, int64_t size) {
  if (size == 1) {
    self->send(parent, first);
    return {}; // an empty behavior: done
  }
  int64_t step = size / 10;
  for (int i = 0; i < 10; ++i)
    self->spawn(skynet, actor{self}, first + i * step, step);
  return {
    [=](int64_t x) {
      auto& s = self->state;
      s.sum += x;
      if (--s.pending > 0)
        return;
      self->send(parent, s.sum);
      self->quit();
    },
  };
}

int run_skynet(actor_system& sys, int64_t div) {
  int64_t leaves = 1;
  while (leaves * 10 <= 1000000 / div)
    leaves *= 10;
  int64_t actors = 0;
  for (int64_t l = leaves; l >= 1; l /= 10)
    actors += l;
  scoped_actor main{sys};
  auto t0 = clk::now();
  sys.spawn(skynet, actor{main}, int64_t{0}, leaves);
  int64_t sum = -1;
  main->receive([&](int64_t s) {
    mark_end();
    sum = s;
  });
  return report("skynet", actors, secs_since(t0, g_end), sum == leaves * (leaves - 1) / 2);
}

// -- spawn_mem ---------------------------------------------------------------

std::atomic<int64_t> g_stopped{0};

behavior idle(event_based_actor* self) {
  return {
    [=](stop_atom) {
      g_stopped.fetch_add(1, std::memory_order_relaxed);
      self->quit();
    },
  };
}

int run_spawn_mem(actor_system& sys, int64_t div) {
  int64_t k = scaled(1000000, div);
  // allocated and touched now, so that it is not counted as the actors' memory
  std::vector<actor> idles(static_cast<size_t>(k));
  long before = status_kb("VmRSS");
  auto t0 = clk::now();
  // lazy_init: an idle actor is not scheduled (to run its initialization)
  // until its first message arrives.
  for (auto& a : idles)
    a = sys.spawn<lazy_init>(idle);
  long after = status_kb("VmRSS");
  for (auto& a : idles)
    anon_send(a, stop_atom::value);
  sys.await_all_actors_done();
  double secs = secs_since(t0, clk::now());
  idles.clear();
  int64_t stopped = g_stopped.load();
  return report("spawn_mem", k, secs, stopped == k,
                " bytes_per_actor=" + std::to_string((after - before) * 1024 / k));
}

// -- fanout_backpressure -----------------------------------------------------

constexpr int64_t bp_chunk = 1000;

// Keeps x in a register the compiler must assume changed, so it can neither
// fold the rounds into one multiply-add nor skip any.
#define KEEP(x) __asm__("" : "+r"(x))

inline uint64_t slow_work(uint64_t x) {
  for (int i = 0; i < 64; ++i) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    KEEP(x);
  }
  return x;
}

struct consumer_state {
  int64_t next = 0;
  uint64_t acc = 0;
  bool in_order = true;
};

behavior consumer(stateful_actor<consumer_state>* self, int64_t n, actor main) {
  return {
    [=](int64_t v) {
      auto& s = self->state;
      s.in_order &= v == s.next;
      ++s.next;
      s.acc = slow_work(s.acc + static_cast<uint64_t>(v)); // chained, as the C does
      if (s.next < n)
        return;
      mark_end();
      self->send(main, done_atom::value, s.next, s.acc, s.in_order);
      self->quit();
    },
  };
}

int run_fanout_backpressure(actor_system& sys, int64_t div) {
  int64_t n = scaled(10000000, div);
  scoped_actor main{sys};
  auto t0 = clk::now();
  auto c = sys.spawn(consumer, n, actor{main});
  anon_send(sys.spawn(sender, c, int64_t{0}, n, bp_chunk), go_atom::value);
  int64_t received = -1;
  uint64_t acc = 0;
  bool in_order = false;
  main->receive([&](done_atom, int64_t r, uint64_t a, bool o) {
    received = r;
    acc = a;
    in_order = o;
  });
  double secs = secs_since(t0, g_end);
  // The ceiling: the same work, same values, on this thread alone.
  auto c0 = clk::now();
  uint64_t want = 0;
  for (int64_t v = 0; v < n; ++v)
    want = slow_work(want + static_cast<uint64_t>(v));
  double ceiling = static_cast<double>(n) / secs_since(c0, clk::now());
  double rate = static_cast<double>(n) / secs;
  char extra[128];
  std::snprintf(extra, sizeof extra, " ceiling_rate=%lld ratio=%.3f",
                static_cast<long long>(ceiling), rate / ceiling);
  return report("fanout_backpressure", n, secs, received == n && in_order && acc == want, extra);
}

// -- fanout_fj ---------------------------------------------------------------

constexpr int fj_receivers = 100;
constexpr int fj_per_receiver = 100;
constexpr int64_t fj_rounds = 3000;

inline uint64_t fj_work(uint64_t x) {
  for (int i = 0; i < 32; ++i) {
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15u;
  }
  return x;
}

struct fj_receiver_state {
  int count = 0;
  uint64_t sum = 0;
};

behavior fj_receiver(stateful_actor<fj_receiver_state>* self, actor producer) {
  return {
    [=](int64_t v) {
      auto& s = self->state;
      s.sum += fj_work(static_cast<uint64_t>(v));
      if (++s.count < fj_per_receiver)
        return;
      self->send(producer, report_atom::value, s.sum);
      s.count = 0;
      s.sum = 0;
    },
  };
}

struct fj_producer_state {
  std::vector<actor> receivers;
  int64_t round = 0, next = 0, reports = 0;
  int missing = 0;
  uint64_t total = 0;
};

// The producer spawns its receivers, then runs the rounds: the fork sends a
// round's values round-robin, the join waits for the 100 reports.
behavior fj_producer(stateful_actor<fj_producer_state>* self, int64_t rounds, actor main) {
  auto& st = self->state;
  st.receivers.reserve(fj_receivers);
  for (int i = 0; i < fj_receivers; ++i)
    st.receivers.push_back(self->spawn(fj_receiver, actor{self}));
  auto fork = [self] {
    auto& s = self->state;
    ++s.round;
    s.missing = fj_receivers;
    for (int i = 0; i < fj_receivers * fj_per_receiver; ++i, ++s.next)
      self->send(s.receivers[i % fj_receivers], s.next);
  };
  fork();
  return {
    [=](report_atom, uint64_t sum) {
      auto& s = self->state;
      s.total += sum;
      ++s.reports;
      if (--s.missing > 0)
        return;
      if (s.round < rounds) {
        fork();
        return;
      }
      mark_end();
      for (auto& r : s.receivers)
        self->send_exit(r, exit_reason::user_shutdown);
      self->send(main, done_atom::value, s.reports, s.total);
      self->quit();
    },
  };
}

int run_fanout_fj(actor_system& sys, int64_t div) {
  int64_t rounds = scaled(fj_rounds, div);
  int64_t n = rounds * fj_receivers * fj_per_receiver;
  scoped_actor main{sys};
  auto t0 = clk::now();
  sys.spawn(fj_producer, rounds, actor{main});
  int64_t reports = -1;
  uint64_t total = 0;
  main->receive([&](done_atom, int64_t r, uint64_t t) {
    reports = r;
    total = t;
  });
  double secs = secs_since(t0, g_end);
  // The check, timed: the same work over the same values on this thread.
  auto w0 = clk::now();
  uint64_t want = 0;
  for (int64_t v = 0; v < n; ++v)
    want += fj_work(static_cast<uint64_t>(v));
  double alone = secs_since(w0, clk::now());
  bool ok = total == want && reports == rounds * fj_receivers;
  return report("fanout_fj", n, secs, ok,
                " rounds=" + std::to_string(rounds) + " work_alone_rate="
                  + std::to_string(static_cast<long long>(static_cast<double>(n) / alone)));
}

// -- broker ------------------------------------------------------------------

constexpr int bk_clients = 1000;
constexpr int64_t bk_rounds = 4000;
constexpr int64_t bk_volley = 20;

struct broker_state {
  std::vector<strong_actor_ptr> waiting; // per round: the client waiting, or null
  int64_t pairs = 0;
};

// Pairs the clients of a round: the first request waits, the second makes a
// pair (the waiting one leads, the newcomer follows).
behavior bk_broker(stateful_actor<broker_state>* self, int64_t rounds, int64_t expected,
                   actor main) {
  self->state.waiting.resize(static_cast<size_t>(rounds));
  return {
    [=](pair_atom, int64_t round) {
      auto& s = self->state;
      auto& w = s.waiting[static_cast<size_t>(round)];
      if (!w) {
        w = self->current_sender();
        return;
      }
      auto leader = actor_cast<actor>(std::move(w));
      auto follower = actor_cast<actor>(self->current_sender());
      w = nullptr;
      self->send(leader, lead_atom::value, follower);
      self->send(follower, follow_atom::value, leader);
      if (++s.pairs < expected)
        return;
      self->send(main, done_atom::value, pair_atom::value, s.pairs);
      self->quit();
    },
  };
}

struct client_state {
  int64_t played = 0, notices = 0, hits = 0;
};

std::atomic<int64_t> g_bk_hits{0}, g_bk_notices{0}, g_bk_exact{0};
std::atomic<int> g_bk_finished{0};

behavior bk_client(stateful_actor<client_state>* self, actor broker, int64_t rounds, actor main) {
  // Exits once it has played its rounds and had its notices.
  auto check_done = [=] {
    auto& s = self->state;
    if (s.played < rounds || s.notices < rounds)
      return;
    g_bk_hits += s.hits;
    g_bk_notices += s.notices;
    if (s.hits == rounds * bk_volley / 2 && s.notices == rounds)
      ++g_bk_exact;
    if (++g_bk_finished == bk_clients) {
      mark_end();
      self->send(main, done_atom::value);
    }
    self->quit();
  };
  // The end of a volley: back to the broker, or done.
  auto round_done = [=] {
    auto& s = self->state;
    if (++s.played < rounds)
      self->send(broker, pair_atom::value, s.played);
    else
      check_done();
  };
  return {
    [=](hit_atom, int64_t i) {
      ++self->state.hits;
      if (i == bk_volley) {
        round_done();
        return;
      }
      // the serve may come before the notice: answer whoever served
      self->send(actor_cast<actor>(self->current_sender()), hit_atom::value, i + 1);
      if (i + 1 == bk_volley)
        round_done();
    },
    [=](lead_atom, const actor& partner) {
      ++self->state.notices;
      self->send(partner, hit_atom::value, int64_t{1});
    },
    [=](follow_atom, const actor&) {
      ++self->state.notices;
      check_done();
    },
    [=](go_atom) { self->send(broker, pair_atom::value, int64_t{0}); },
  };
}

int run_broker(actor_system& sys, int64_t div) {
  int64_t rounds = scaled(bk_rounds, div);
  int64_t pairs = bk_clients * rounds / 2;
  int64_t n = pairs * (4 + bk_volley);
  scoped_actor main{sys};
  auto t0 = clk::now();
  auto b = sys.spawn(bk_broker, rounds, pairs, actor{main});
  for (int i = 0; i < bk_clients; ++i)
    anon_send(sys.spawn(bk_client, b, rounds, actor{main}), go_atom::value);
  int64_t made = -1;
  bool clients_done = false;
  int got = 0;
  main->receive_for(got, 2)(
    [&](done_atom, pair_atom, int64_t p) { made = p; },
    [&](done_atom) { clients_done = true; });
  bool ok = clients_done && made == pairs && g_bk_hits == pairs * bk_volley
            && g_bk_notices == bk_clients * rounds && g_bk_finished == bk_clients
            && g_bk_exact == bk_clients;
  return report("broker", n, secs_since(t0, g_end), ok, " rounds=" + std::to_string(rounds));
}

// -- many_to_many ------------------------------------------------------------

constexpr int mm_peers = 1000;
constexpr int64_t mm_per_peer = 20000;
constexpr int64_t mm_chunk = 100;

uint64_t mm_seed(int64_t index) {
  return 0x9e3779b97f4a7c15u * static_cast<uint64_t>(index + 1);
}

// The next destination: uniform over the mm_peers - 1 others.
inline int64_t mm_next(uint64_t& rng, int64_t self) {
  uint64_t x = rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng = x;
  auto d = static_cast<int64_t>(((x >> 32) * (mm_peers - 1)) >> 32);
  return d >= self ? d + 1 : d;
}

// Written by main before the first message; read-only afterwards.
std::vector<actor> g_mm_peers;
// Each peer's count and sum, written once by the peer before it exits.
int64_t g_mm_received[mm_peers], g_mm_sum[mm_peers];
std::atomic<int> g_mm_finished{0};

struct mm_state {
  uint64_t rng = 0;
  int64_t sent = 0, received = 0, sum = 0;
};

behavior mm_peer(stateful_actor<mm_state>* self, int64_t index, int64_t m, int64_t expected,
                 actor main) {
  self->state.rng = mm_seed(index);
  auto maybe_done = [=] {
    auto& s = self->state;
    if (s.sent < m || s.received < expected)
      return;
    g_mm_received[index] = s.received;
    g_mm_sum[index] = s.sum;
    if (++g_mm_finished == mm_peers) {
      mark_end();
      self->send(main, done_atom::value);
    }
    self->quit();
  };
  return {
    [=](int64_t v) {
      auto& s = self->state;
      ++s.received;
      s.sum += v;
      maybe_done();
    },
    // the next CHUNK values, then go on (or wait to receive the rest)
    [=](go_atom) {
      auto& s = self->state;
      for (int64_t i = 0; i < mm_chunk && s.sent < m; ++i, ++s.sent)
        self->send(g_mm_peers[static_cast<size_t>(mm_next(s.rng, index))],
                   index * m + s.sent + 1);
      if (s.sent < m)
        self->send(self, go_atom::value);
      else
        maybe_done();
    },
  };
}

int run_many_to_many(actor_system& sys, int64_t div) {
  int64_t m = scaled(mm_per_peer, div);
  int64_t n = mm_peers * m;
  // The replay, untimed: who receives how many values, and their sum.
  std::vector<int64_t> want_count(mm_peers), want_sum(mm_peers);
  for (int64_t i = 0; i < mm_peers; ++i) {
    uint64_t rng = mm_seed(i);
    for (int64_t j = 0; j < m; ++j) {
      auto d = static_cast<size_t>(mm_next(rng, i));
      ++want_count[d];
      want_sum[d] += i * m + j + 1;
    }
  }
  scoped_actor main{sys};
  g_mm_peers.reserve(mm_peers);
  auto t0 = clk::now();
  for (int64_t i = 0; i < mm_peers; ++i)
    g_mm_peers.push_back(sys.spawn(mm_peer, i, m, want_count[static_cast<size_t>(i)],
                                   actor{main}));
  for (auto& p : g_mm_peers)
    anon_send(p, go_atom::value);
  main->receive([](done_atom) {});
  double secs = secs_since(t0, g_end);
  g_mm_peers.clear();
  bool ok = g_mm_finished == mm_peers;
  int64_t received = 0, sum = 0;
  for (size_t i = 0; i < mm_peers; ++i) {
    ok = ok && g_mm_received[i] == want_count[i] && g_mm_sum[i] == want_sum[i];
    received += g_mm_received[i];
    sum += g_mm_sum[i];
  }
  ok = ok && received == n && sum == n * (n + 1) / 2;
  return report("many_to_many", n, secs, ok);
}

} // namespace

int main(int argc, char** argv) {
  static const char* usage = "usage: peer pingpong|counting|ring|skynet|spawn_mem|"
                             "fanout_backpressure|fanout_fj|broker|many_to_many [divisor]\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  int64_t div = 1;
  if (argc > 2) {
    char* end = nullptr;
    div = std::strtoll(argv[2], &end, 10);
    if (*end != '\0' || div < 1) {
      std::fputs("peer: the divisor must be an integer >= 1\n", stderr);
      return 2;
    }
  }
  using runner = int (*)(actor_system&, int64_t);
  struct entry {
    const char* name;
    runner run;
  };
  static const entry table[] = {
    {"pingpong", run_pingpong},
    {"counting", run_counting},
    {"ring", run_ring},
    {"skynet", run_skynet},
    {"spawn_mem", run_spawn_mem},
    {"fanout_backpressure", run_fanout_backpressure},
    {"fanout_fj", run_fanout_fj},
    {"broker", run_broker},
    {"many_to_many", run_many_to_many},
  };
  runner run = nullptr;
  for (auto& e : table)
    if (std::strcmp(e.name, argv[1]) == 0)
      run = e.run;
  if (run == nullptr) {
    std::fprintf(stderr, "peer: unknown benchmark: %s\n", argv[1]);
    std::fputs(usage, stderr);
    return 2;
  }
  const char* w = std::getenv("WORKERS");
  long workers = w != nullptr && *w != '\0' ? std::atol(w) : 2;
  if (workers < 1) {
    std::fputs("peer: WORKERS must be >= 1\n", stderr);
    return 2;
  }
  actor_system_config cfg;
  cfg.set("scheduler.max-threads", static_cast<size_t>(workers));
  actor_system sys{cfg};
  g_workers = sys.scheduler().num_workers();
  return run(sys, div);
}
