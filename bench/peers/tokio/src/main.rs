//! Tokio versions of troupe's benchmarks (bench/NAME.c and the spec that
//! bench/peers/*/run.sh follow): tasks are the actors, tokio::sync::mpsc
//! channels their mailboxes, on a multi-thread runtime with WORKERS worker
//! threads (default 2). One benchmark per process, one BENCH line (impl=tokio).
//!
//! Usage: peer NAME [scale-divisor]
//!
//! Mailboxes. Where the benchmark needs a bound (counting's counter and
//! fanout_backpressure's consumer: a producer that outruns its consumer), the
//! mailbox is `mpsc::channel(MAILBOX)`, 1,000, and a full one makes the sender
//! wait (backpressure). Everywhere else the protocol itself bounds what can be
//! queued (one message in flight in pingpong and ring, ten replies per parent
//! in skynet, one stop message in spawn_mem, one round's 100 values per
//! fanout_fj receiver, at most one request per client at broker's broker), so
//! a bound would only cost: there a Tokio programmer would use
//! `mpsc::unbounded_channel`, whose send is a plain call and whose receive does
//! not take the bounded channel's semaphore lock. many_to_many is all-to-all:
//! bounded mailboxes there could deadlock (everyone waiting to send to someone
//! else who is waiting to send), so, like troupe's version, its mailboxes are
//! unbounded and each actor sends in chunks of 100, taking in what has come
//! and yielding between chunks, which keeps the queues short.

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Runtime;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

/// The capacity of a bounded mailbox.
const MAILBOX: usize = 1000;

/// What a benchmark measured, for its BENCH line.
struct Outcome {
    n: u64,
    secs: f64,
    ok: bool,
    extra: String,
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM), or -1.
fn status_kb(field: &str) -> i64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return -1;
    };
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(-1)
}

/// A size divided by the divisor, at least 1.
fn scaled(size: u64, div: u64) -> u64 {
    (size / div).max(1)
}

/// Seconds from t0 to the latest of the end instants.
fn secs_to(t0: Instant, end: Instant) -> f64 {
    end.saturating_duration_since(t0).as_secs_f64()
}

// ---------------------------------------------------------------------------
// pingpong: two actors bounce one message R times (2R messages).

fn pingpong(rt: &Runtime, div: u64) -> Outcome {
    let rounds = scaled(1_000_000, div);
    let (replies, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (to_pong, mut pong_box) = mpsc::unbounded_channel::<u64>();
        let (to_ping, mut ping_box) = mpsc::unbounded_channel::<u64>();
        tokio::spawn(async move {
            // pong: answers each ball until ping is gone
            while let Some(ball) = pong_box.recv().await {
                if to_ping.send(ball + 1).is_err() {
                    break;
                }
            }
        });
        let ping = tokio::spawn(async move {
            let mut replies = 0u64;
            to_pong.send(0).expect("pong is gone");
            while let Some(ball) = ping_box.recv().await {
                replies += 1;
                if replies == rounds {
                    break;
                }
                to_pong.send(ball).expect("pong is gone");
            }
            (replies, Instant::now())
        });
        let (replies, end) = ping.await.expect("ping panicked");
        (replies, secs_to(t0, end))
    });
    Outcome {
        n: 2 * rounds,
        secs,
        ok: replies == rounds,
        extra: String::new(),
    }
}

// ---------------------------------------------------------------------------
// counting: P senders each send 1..=M to one counter (bounded mailbox).

fn counting(rt: &Runtime, div: u64) -> Outcome {
    const SENDERS: u64 = 100;
    let per_sender = scaled(100_000, div);
    let total = SENDERS * per_sender;
    let (count, sum, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (to_counter, mut inbox) = mpsc::channel::<u64>(MAILBOX);
        let counter = tokio::spawn(async move {
            let (mut count, mut sum) = (0u64, 0u64);
            while let Some(v) = inbox.recv().await {
                count += 1;
                sum += v;
                if count == total {
                    break;
                }
            }
            (count, sum, Instant::now())
        });
        for _ in 0..SENDERS {
            let to_counter = to_counter.clone();
            tokio::spawn(async move {
                for v in 1..=per_sender {
                    if to_counter.send(v).await.is_err() {
                        break;
                    }
                }
            });
        }
        drop(to_counter);
        let (count, sum, end) = counter.await.expect("counter panicked");
        (count, sum, secs_to(t0, end))
    });
    let ok = count == total && sum == SENDERS * (per_sender * (per_sender + 1) / 2);
    Outcome {
        n: total,
        secs,
        ok,
        extra: String::new(),
    }
}

// ---------------------------------------------------------------------------
// ring: 1,000 actors, one token passed H hops.

fn ring(rt: &Runtime, div: u64) -> Outcome {
    const RING: usize = 1000;
    let hops = scaled(10_000_000, div);
    let (seen, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(u64, Instant)>();
        let (links, inboxes): (Vec<UnboundedSender<u64>>, Vec<UnboundedReceiver<u64>>) =
            (0..RING).map(|_| mpsc::unbounded_channel()).unzip();
        for (i, mut inbox) in inboxes.into_iter().enumerate() {
            let next = links[(i + 1) % RING].clone();
            let done = done_tx.clone();
            tokio::spawn(async move {
                // Ends with the token, or when the link before it has ended
                // (after the run, each link's end closes the next one's box).
                while let Some(h) = inbox.recv().await {
                    if h < hops {
                        if next.send(h + 1).is_err() {
                            break;
                        }
                    } else {
                        let _ = done.send((h, Instant::now()));
                        break;
                    }
                }
            });
        }
        links[0].send(0).expect("link 0 is gone");
        drop(links);
        drop(done_tx);
        let (seen, end) = done_rx.recv().await.expect("the token was lost");
        (seen, secs_to(t0, end))
    });
    Outcome {
        n: hops,
        secs,
        ok: seen == hops,
        extra: String::new(),
    }
}

// ---------------------------------------------------------------------------
// skynet: a 10-ary tree of actors; leaf i replies i, parents sum and reply.

/// One node of the tree: the leaves first..first+size under it. A parent
/// spawns its ten children, each with a sender to the parent's mailbox.
/// Not an `async fn`: a recursive spawn needs the future's `Send` written out.
#[allow(clippy::manual_async_fn)]
fn skynet_node(
    first: u64,
    size: u64,
    parent: UnboundedSender<u64>,
) -> impl Future<Output = ()> + Send {
    async move {
        if size == 1 {
            let _ = parent.send(first);
            return;
        }
        let (me, mut inbox) = mpsc::unbounded_channel::<u64>();
        let step = size / 10;
        for i in 0..10 {
            tokio::spawn(skynet_node(first + i * step, step, me.clone()));
        }
        drop(me);
        let mut sum = 0;
        for _ in 0..10 {
            sum += inbox.recv().await.expect("a child was lost");
        }
        let _ = parent.send(sum);
    }
}

fn skynet(rt: &Runtime, div: u64) -> Outcome {
    let mut leaves = 1u64;
    while leaves * 10 <= 1_000_000 / div {
        leaves *= 10;
    }
    let mut actors = 0;
    let mut l = leaves;
    while l >= 1 {
        actors += l;
        l /= 10;
    }
    let (sum, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (me, mut inbox) = mpsc::unbounded_channel::<u64>();
        tokio::spawn(skynet_node(0, leaves, me));
        let sum = inbox.recv().await.expect("the root was lost");
        (sum, t0.elapsed().as_secs_f64())
    });
    Outcome {
        n: actors,
        secs,
        ok: sum == leaves * (leaves - 1) / 2,
        extra: String::new(),
    }
}

// ---------------------------------------------------------------------------
// spawn_mem: K idle actors, each waiting for one message; RSS before and after.

struct Stops {
    stopped: AtomicU64,
    all: Notify,
    k: u64,
}

fn spawn_mem(rt: &Runtime, div: u64) -> Outcome {
    let k = scaled(1_000_000, div);
    let (stopped, before, after, secs) = rt.block_on(async move {
        // The driver is itself a task, as an actor that spawns would be.
        tokio::spawn(async move {
            // touched now: not counted as the actors' memory
            let mut mailboxes: Vec<Option<UnboundedSender<()>>> = (0..k).map(|_| None).collect();
            let stops = Arc::new(Stops {
                stopped: AtomicU64::new(0),
                all: Notify::new(),
                k,
            });
            let before = status_kb("VmRSS");
            let t0 = Instant::now();
            for slot in mailboxes.iter_mut() {
                let (tx, mut inbox) = mpsc::unbounded_channel::<()>();
                let stops = stops.clone();
                tokio::spawn(async move {
                    let _ = inbox.recv().await;
                    if stops.stopped.fetch_add(1, Ordering::Relaxed) + 1 == stops.k {
                        stops.all.notify_one();
                    }
                });
                *slot = Some(tx);
            }
            let after = status_kb("VmRSS");
            for tx in mailboxes.iter().flatten() {
                let _ = tx.send(());
            }
            stops.all.notified().await;
            let secs = t0.elapsed().as_secs_f64();
            (stops.stopped.load(Ordering::Relaxed), before, after, secs)
        })
        .await
        .expect("the driver panicked")
    });
    Outcome {
        n: k,
        secs,
        ok: stopped == k,
        extra: format!(" bytes_per_actor={}", (after - before) * 1024 / k as i64),
    }
}

// ---------------------------------------------------------------------------
// fanout_backpressure: one producer, one slow consumer behind a bounded mailbox.

/// The consumer's work: 64 dependent rounds of a 64-bit LCG, each through
/// black_box so that LLVM can neither fold nor skip them.
#[inline]
fn slow_work(mut x: u64) -> u64 {
    for _ in 0..64 {
        x = black_box(
            x.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        );
    }
    x
}

fn fanout_backpressure(rt: &Runtime, div: u64) -> Outcome {
    let n = scaled(10_000_000, div);
    let (received, acc, in_order, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (to_consumer, mut inbox) = mpsc::channel::<u64>(MAILBOX);
        let consumer = tokio::spawn(async move {
            // the checksum: acc = slow_work(acc + value), in order
            let (mut next, mut acc, mut in_order) = (0u64, 0u64, true);
            while let Some(v) = inbox.recv().await {
                in_order &= v == next;
                next += 1;
                acc = slow_work(acc.wrapping_add(v));
                if next == n {
                    break;
                }
            }
            (next, acc, in_order, Instant::now())
        });
        tokio::spawn(async move {
            for v in 0..n {
                if to_consumer.send(v).await.is_err() {
                    break;
                }
            }
        });
        let (received, acc, in_order, end) = consumer.await.expect("consumer panicked");
        (received, acc, in_order, secs_to(t0, end))
    });
    // The ceiling: the same work on the same values, on this thread alone.
    let c0 = Instant::now();
    let mut want = 0u64;
    for v in 0..n {
        want = slow_work(want.wrapping_add(v));
    }
    let ceiling = n as f64 / c0.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    Outcome {
        n,
        secs,
        ok: received == n && in_order && acc == want,
        extra: format!(
            " ceiling_rate={} ratio={:.3}",
            ceiling as u64,
            rate / ceiling
        ),
    }
}

// ---------------------------------------------------------------------------
// fanout_fj: fork-join rounds of 10,000 values over 100 receivers.

const FJ_RECEIVERS: usize = 100;
const FJ_PER_RECEIVER: u64 = 100;

/// The receivers' work: 32 rounds of xor-shift-multiply (non-linear, so
/// nothing folds them).
#[inline]
fn fj_work(mut x: u64) -> u64 {
    for _ in 0..32 {
        x ^= x >> 31;
        x = x.wrapping_mul(0x9e3779b97f4a7c15);
    }
    x
}

fn fanout_fj(rt: &Runtime, div: u64) -> Outcome {
    let rounds = scaled(3000, div);
    let n = rounds * FJ_RECEIVERS as u64 * FJ_PER_RECEIVER;
    let (total, reports, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (to_producer, mut producer_box) = mpsc::unbounded_channel::<u64>();
        let receivers: Vec<UnboundedSender<u64>> = (0..FJ_RECEIVERS)
            .map(|_| {
                let (tx, mut inbox) = mpsc::unbounded_channel::<u64>();
                let to_producer = to_producer.clone();
                tokio::spawn(async move {
                    let (mut count, mut sum) = (0u64, 0u64);
                    while let Some(v) = inbox.recv().await {
                        sum = sum.wrapping_add(fj_work(v));
                        count += 1;
                        if count == FJ_PER_RECEIVER {
                            let _ = to_producer.send(sum);
                            count = 0;
                            sum = 0;
                        }
                    }
                });
                tx
            })
            .collect();
        drop(to_producer);
        let producer = tokio::spawn(async move {
            let (mut next, mut total, mut reports) = (0u64, 0u64, 0u64);
            for _ in 0..rounds {
                // the fork: value i of the round to receiver i % 100
                for _ in 0..FJ_PER_RECEIVER {
                    for r in &receivers {
                        r.send(next).expect("a receiver is gone");
                        next += 1;
                    }
                }
                // the join
                for _ in 0..FJ_RECEIVERS {
                    total =
                        total.wrapping_add(producer_box.recv().await.expect("a report was lost"));
                    reports += 1;
                }
            }
            (total, reports, Instant::now()) // dropping `receivers` stops them
        });
        let (total, reports, end) = producer.await.expect("producer panicked");
        (total, reports, secs_to(t0, end))
    });
    let w0 = Instant::now();
    let mut want = 0u64;
    for v in 0..n {
        want = want.wrapping_add(fj_work(v));
    }
    let alone = w0.elapsed().as_secs_f64();
    Outcome {
        n,
        secs,
        ok: total == want && reports == rounds * FJ_RECEIVERS as u64,
        extra: format!(
            " rounds={} work_alone_rate={}",
            rounds,
            (n as f64 / alone) as u64
        ),
    }
}

// ---------------------------------------------------------------------------
// broker: 1,000 clients meet in pairs through one broker, R rounds each.

const BK_CLIENTS: usize = 1000;
const BK_VOLLEY: u32 = 20;

/// A pair request: the client and the round it is in.
struct Request {
    from: u32,
    round: u32,
}

/// What a client receives.
enum ClientMsg {
    /// From the broker: serve to this partner.
    Lead(u32),
    /// From the broker: this partner will serve.
    Follow(#[allow(dead_code)] u32),
    /// From the partner: volley message `count` (1..=VOLLEY).
    Hit { from: u32, count: u32 },
}

struct ClientResult {
    hits: u64,
    notices: u64,
    end: Instant,
}

fn broker(rt: &Runtime, div: u64) -> Outcome {
    let rounds = scaled(4000, div);
    let pairs = BK_CLIENTS as u64 * rounds / 2;
    let n = pairs * (4 + BK_VOLLEY as u64);
    let (hits, notices, exact, made, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (to_broker, mut requests) = mpsc::unbounded_channel::<Request>();
        let (boxes, inboxes): (
            Vec<UnboundedSender<ClientMsg>>,
            Vec<UnboundedReceiver<ClientMsg>>,
        ) = (0..BK_CLIENTS).map(|_| mpsc::unbounded_channel()).unzip();
        let boxes: Arc<[UnboundedSender<ClientMsg>]> = boxes.into();
        let (to_main, mut results) = mpsc::unbounded_channel::<ClientResult>();

        let broker_boxes = boxes.clone();
        let broker = tokio::spawn(async move {
            let boxes = broker_boxes;
            let mut waiting = vec![u32::MAX; rounds as usize]; // per round: the client waiting, or none
            let mut made = 0u64;
            while made < pairs {
                let Some(r) = requests.recv().await else {
                    break;
                };
                let w = &mut waiting[r.round as usize];
                if *w == u32::MAX {
                    *w = r.from;
                    continue;
                }
                let _ = boxes[*w as usize].send(ClientMsg::Lead(r.from));
                let _ = boxes[r.from as usize].send(ClientMsg::Follow(*w));
                *w = u32::MAX;
                made += 1;
            }
            made
        });

        for (me, mut inbox) in inboxes.into_iter().enumerate() {
            let me = me as u32;
            let boxes = boxes.clone();
            let to_broker = to_broker.clone();
            let to_main = to_main.clone();
            tokio::spawn(async move {
                let (mut played, mut notices, mut hits) = (0u64, 0u64, 0u64);
                let _ = to_broker.send(Request { from: me, round: 0 });
                while played < rounds || notices < rounds {
                    match inbox.recv().await.expect("client mailbox closed") {
                        ClientMsg::Lead(partner) => {
                            notices += 1;
                            let _ =
                                boxes[partner as usize].send(ClientMsg::Hit { from: me, count: 1 });
                        }
                        ClientMsg::Follow(_) => notices += 1,
                        ClientMsg::Hit { from, count } => {
                            hits += 1;
                            let mut done = count == BK_VOLLEY;
                            if !done {
                                let _ = boxes[from as usize].send(ClientMsg::Hit {
                                    from: me,
                                    count: count + 1,
                                });
                                done = count + 1 == BK_VOLLEY;
                            }
                            if done {
                                played += 1;
                                if played < rounds {
                                    let _ = to_broker.send(Request {
                                        from: me,
                                        round: played as u32,
                                    });
                                }
                            }
                        }
                    }
                }
                let _ = to_main.send(ClientResult {
                    hits,
                    notices,
                    end: Instant::now(),
                });
            });
        }
        drop((to_broker, to_main, boxes));

        let (mut hits, mut notices, mut exact, mut end) = (0u64, 0u64, 0u64, t0);
        for _ in 0..BK_CLIENTS {
            let r = results.recv().await.expect("a client was lost");
            hits += r.hits;
            notices += r.notices;
            exact += (r.hits == rounds * BK_VOLLEY as u64 / 2 && r.notices == rounds) as u64;
            end = end.max(r.end);
        }
        let made = broker.await.expect("broker panicked");
        (hits, notices, exact, made, secs_to(t0, end))
    });
    let ok = hits == pairs * BK_VOLLEY as u64
        && notices == BK_CLIENTS as u64 * rounds
        && exact == BK_CLIENTS as u64
        && made == pairs;
    Outcome {
        n,
        secs,
        ok,
        extra: format!(" rounds={rounds}"),
    }
}

// ---------------------------------------------------------------------------
// many_to_many: 1,000 actors each send M values to uniformly random others.

const MM_PEERS: u64 = 1000;
const MM_CHUNK: u64 = 100;

fn mm_seed(index: u64) -> u64 {
    0x9e3779b97f4a7c15u64.wrapping_mul(index + 1)
}

/// The next destination: uniform over the MM_PEERS - 1 others (xorshift64).
#[inline]
fn mm_next(rng: &mut u64, me: u64) -> u64 {
    let mut x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    let d = ((x >> 32) * (MM_PEERS - 1)) >> 32;
    if d >= me {
        d + 1
    } else {
        d
    }
}

fn many_to_many(rt: &Runtime, div: u64) -> Outcome {
    let m = scaled(20_000, div);
    let n = MM_PEERS * m;
    // The replay, untimed: who receives how many values, and their sum.
    let (mut want_count, mut want_sum) =
        (vec![0u64; MM_PEERS as usize], vec![0u64; MM_PEERS as usize]);
    for i in 0..MM_PEERS {
        let mut rng = mm_seed(i);
        for j in 0..m {
            let d = mm_next(&mut rng, i) as usize;
            want_count[d] += 1;
            want_sum[d] += i * m + j + 1;
        }
    }
    let expected = want_count.clone();
    let (got, secs) = rt.block_on(async move {
        let t0 = Instant::now();
        let (boxes, inboxes): (Vec<UnboundedSender<u64>>, Vec<UnboundedReceiver<u64>>) =
            (0..MM_PEERS).map(|_| mpsc::unbounded_channel()).unzip();
        let boxes: Arc<[UnboundedSender<u64>]> = boxes.into();
        let (to_main, mut results) = mpsc::unbounded_channel::<(u64, u64, u64, Instant)>();
        for (me, mut inbox) in inboxes.into_iter().enumerate() {
            let me = me as u64;
            let expected = expected[me as usize];
            let boxes = boxes.clone();
            let to_main = to_main.clone();
            tokio::spawn(async move {
                let mut rng = mm_seed(me);
                let (mut received, mut sum) = (0u64, 0u64);
                let mut sent = 0u64;
                while sent < m {
                    let end = (sent + MM_CHUNK).min(m);
                    for j in sent..end {
                        let _ = boxes[mm_next(&mut rng, me) as usize].send(me * m + j + 1);
                    }
                    sent = end;
                    // take in what has come, and let the others run
                    while let Ok(v) = inbox.try_recv() {
                        received += 1;
                        sum += v;
                    }
                    if sent < m {
                        tokio::task::yield_now().await;
                    }
                }
                while received < expected {
                    let Some(v) = inbox.recv().await else { break };
                    received += 1;
                    sum += v;
                }
                let _ = to_main.send((me, received, sum, Instant::now()));
            });
        }
        drop((boxes, to_main));
        let mut got = vec![(0u64, 0u64); MM_PEERS as usize];
        let mut end = t0;
        for _ in 0..MM_PEERS {
            let (me, received, sum, e) = results.recv().await.expect("a peer was lost");
            got[me as usize] = (received, sum);
            end = end.max(e);
        }
        (got, secs_to(t0, end))
    });
    let mut ok = true;
    let (mut received, mut sum) = (0u64, 0u64);
    for (i, &(r, s)) in got.iter().enumerate() {
        ok &= r == want_count[i] && s == want_sum[i];
        received += r;
        sum += s;
    }
    ok &= received == n && sum == n * (n + 1) / 2;
    Outcome {
        n,
        secs,
        ok,
        extra: String::new(),
    }
}

// ---------------------------------------------------------------------------

type Bench = fn(&Runtime, u64) -> Outcome;

const BENCHES: &[(&str, Bench)] = &[
    ("pingpong", pingpong),
    ("counting", counting),
    ("ring", ring),
    ("skynet", skynet),
    ("spawn_mem", spawn_mem),
    ("fanout_backpressure", fanout_backpressure),
    ("fanout_fj", fanout_fj),
    ("broker", broker),
    ("many_to_many", many_to_many),
];

fn usage(msg: &str) -> ! {
    let names: Vec<&str> = BENCHES.iter().map(|b| b.0).collect();
    eprintln!(
        "peer: {msg}\nusage: peer {} [scale-divisor]",
        names.join("|")
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(name) = args.get(1) else {
        usage("no benchmark named")
    };
    let Some(&(name, bench)) = BENCHES.iter().find(|b| b.0 == name) else {
        usage(&format!("unknown benchmark: {name}"))
    };
    let div = match args.get(2).map(|s| s.parse::<u64>()) {
        None => 1,
        Some(Ok(d)) if d >= 1 => d,
        Some(_) => usage("the scale divisor must be an integer >= 1"),
    };
    let workers = match std::env::var("WORKERS") {
        Err(_) => 2,
        Ok(w) => match w.parse::<usize>() {
            Ok(w) if w >= 1 => w,
            _ => usage(&format!("WORKERS={w}: must be an integer >= 1")),
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("cannot build the Tokio runtime");
    let o = bench(&rt, div);
    println!(
        "BENCH name={name} impl=tokio workers={workers} n={} secs={:.3} rate={} rss_kb={} check={}{}",
        o.n,
        o.secs,
        (o.n as f64 / o.secs) as u64,
        status_kb("VmHWM"),
        if o.ok { "ok" } else { "FAIL" },
        o.extra
    );
    // Leftover tasks (none should be left) are dropped, not waited for.
    rt.shutdown_background();
    if !o.ok {
        std::process::exit(1);
    }
}
