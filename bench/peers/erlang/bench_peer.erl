%% bench_peer: the Erlang/OTP peer of troupe's side-by-side benchmarks
%% (bench/NAME.c; bench/README.md says what each does): the same work, done
%% by Erlang processes with plain message passing, printing the same BENCH
%% line with impl=erlang. run.sh starts one emulator per benchmark:
%%
%%   erl +S W:W +P 5000000 -noshell -pa OUT -run bench_peer main NAME [Divisor]
%%
%% NAME is pingpong, counting, ring, skynet, spawn_mem, fanout_backpressure,
%% fanout_fj, broker, many_to_many or restart (in bench_restart.erl, an OTP
%% supervisor module). The divisor divides every size, each at least 1. Each
%% benchmark is timed from its first spawn to the moment the process that
%% ends the work has it (that process reads the clock and sends the reading
%% along with its result), so emulator start-up and the checks are not
%% counted. A FAIL check halts with
%% status 1, an unknown NAME with status 2.
%%
%% Erlang has no bounded mailboxes: where troupe bounds one (counting,
%% fanout_backpressure) the queue here grows as far as the senders get ahead,
%% and rss_kb shows it. Such processes keep their queue off the heap
%% ({message_queue_data, off_heap}), as OTP advises for a process that may
%% hold a long queue: the garbage collector then does not copy it over and
%% over, and senders do not take the receiver's main lock.
%%
%% uint64 arithmetic: an Erlang integer above 2^59 - 1 is a bignum (on the
%% heap, slow). The hashes of fanout_backpressure and fanout_fj are therefore
%% done on three limbs of 22, 22 and 20 bits, where every product and sum
%% stays a small integer; the result is the same uint64 (the check also
%% compares the limb code with the plain bignum formula on 2,000 values).
-module(bench_peer).
-export([main/1, report/5, scaled/2]).

-define(M64, 16#FFFFFFFFFFFFFFFF).
-define(M22, 16#3FFFFF).
-define(M20, 16#FFFFF).

%% ---------------------------------------------------------------- driver

main([Name]) ->
    main([Name, "1"]);
main([Name, DivS]) ->
    Div = try list_to_integer(DivS) catch error:badarg -> 0 end,
    Div >= 1 orelse usage("scale divisor must be an integer >= 1"),
    Fun = case Name of
              "pingpong" -> fun pingpong/1;
              "counting" -> fun counting/1;
              "ring" -> fun ring/1;
              "skynet" -> fun skynet/1;
              "spawn_mem" -> fun spawn_mem/1;
              "fanout_backpressure" -> fun fanout_backpressure/1;
              "fanout_fj" -> fun fanout_fj/1;
              "broker" -> fun broker/1;
              "many_to_many" -> fun many_to_many/1;
              "restart" -> fun bench_restart:restart/1;
              _ -> usage("unknown benchmark: " ++ Name)
          end,
    Ok = try Fun(Div)
         catch Class:Reason:Stack ->
                 io:format(standard_error, "bench_peer: ~s: ~p:~p~n~p~n",
                           [Name, Class, Reason, Stack]),
                 false
         end,
    halt(case Ok of true -> 0; false -> 1 end);
main(_) ->
    usage("usage: bench_peer main NAME [divisor]").

usage(Msg) ->
    io:format(standard_error, "bench_peer: ~s~n", [Msg]),
    halt(2).

now_ns() -> erlang:monotonic_time(nanosecond).

secs(T0, T1) -> (T1 - T0) / 1.0e9.

%% A field of /proc/self/status in KiB (VmHWM, VmRSS), or -1.
status_kb(Field) ->
    case file:read_file("/proc/self/status") of
        {ok, Bin} ->
            Key = list_to_binary(Field ++ ":"),
            case [K || Line <- binary:split(Bin, <<"\n">>, [global]),
                       [F, K | _] <- [binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all])],
                       F =:= Key] of
                [Kb] -> binary_to_integer(Kb);
                _ -> -1
            end;
        _ -> -1
    end.

%% Prints the BENCH line; returns whether the check passed.
report(Name, N, Secs, Ok, Extra) ->
    Rate = case Secs > 0 of true -> trunc(N / Secs); false -> 0 end,
    io:format("BENCH name=~s impl=erlang workers=~b n=~b secs=~.3f rate=~b rss_kb=~b check=~s~s~n",
              [Name, erlang:system_info(schedulers_online), N, Secs, Rate,
               status_kb("VmHWM"), case Ok of true -> "ok"; false -> "FAIL" end, Extra]),
    Ok.

scaled(Full, Div) -> max(1, Full div Div).

%% ---------------------------------------------------------------- pingpong
%% Two processes bounce one integer R times (2R messages); pong adds one,
%% so the ball comes back carrying R after the last round trip.

pingpong(Div) ->
    R = scaled(1000000, Div),
    Main = self(),
    T0 = now_ns(),
    Pong = spawn(fun() -> receive {ping, Ping} -> pong(Ping) end end),
    spawn(fun() -> Pong ! {ping, self()}, Pong ! 0, ping(Pong, R, 0, Main) end),
    receive {pingpong, Replies, Ball, T1} -> ok end,
    report("pingpong", 2 * R, secs(T0, T1), Replies =:= R andalso Ball =:= R, "").

pong(Ping) ->
    receive
        N when is_integer(N) -> Ping ! N + 1, pong(Ping);
        stop -> ok
    end.

ping(Pong, R, Replies, Main) ->
    receive
        N when Replies + 1 < R -> Pong ! N, ping(Pong, R, Replies + 1, Main);
        N -> T1 = now_ns(), Pong ! stop, Main ! {pingpong, Replies + 1, N, T1}
    end.

%% ---------------------------------------------------------------- counting
%% P = 100 senders each send 1..M to one counter (unbounded mailbox).

-define(SENDERS, 100).

counting(Div) ->
    M = scaled(100000, Div),
    Total = ?SENDERS * M,
    Main = self(),
    T0 = now_ns(),
    Counter = spawn_opt(fun() -> counter(0, 0, Total, Main) end,
                        [{message_queue_data, off_heap}]),
    [spawn(fun() -> send_seq(Counter, 1, M) end) || _ <- lists:seq(1, ?SENDERS)],
    receive {counted, Count, Sum, T1} -> ok end,
    report("counting", Total, secs(T0, T1),
           Count =:= Total andalso Sum =:= ?SENDERS * (M * (M + 1) div 2), "").

send_seq(To, I, M) when I =< M -> To ! I, send_seq(To, I + 1, M);
send_seq(_, _, _) -> ok.

counter(Total, Sum, Total, Main) ->
    Main ! {counted, Total, Sum, now_ns()};
counter(Count, Sum, Total, Main) ->
    receive V -> counter(Count + 1, Sum + V, Total, Main) end.

%% ---------------------------------------------------------------- ring
%% 1,000 processes in a ring; the token carries its hop count and goes H hops.

-define(RING, 1000).

ring(Div) ->
    H = scaled(10000000, Div),
    Main = self(),
    T0 = now_ns(),
    Pids = [spawn(fun() -> receive {next, Next} -> ring_node(Next, H, Main) end end)
            || _ <- lists:seq(1, ?RING)],
    [P ! {next, Next} || {P, Next} <- lists:zip(Pids, tl(Pids) ++ [hd(Pids)])],
    hd(Pids) ! 0,
    receive {ring, Hops, T1} -> ok end,
    [exit(P, kill) || P <- Pids],
    report("ring", H, secs(T0, T1), Hops =:= H, "").

ring_node(Next, H, Main) ->
    receive
        Hops when Hops < H -> Next ! Hops + 1, ring_node(Next, H, Main);
        Hops -> Main ! {ring, Hops, now_ns()}
    end.

%% ---------------------------------------------------------------- skynet
%% A 10-ary tree of processes: each spawns its 10 children, a leaf replies its
%% number, a parent replies the sum of its children's replies.

skynet(Div) ->
    Leaves = pow10_at_most(1000000 div Div, 1),
    Actors = lists:sum(tree_levels(Leaves)),
    Main = self(),
    T0 = now_ns(),
    spawn(fun() -> skynet_node({root, Main}, 0, Leaves) end),
    receive {skynet, Sum, T1} -> ok end,
    report("skynet", Actors, secs(T0, T1), Sum =:= Leaves * (Leaves - 1) div 2, "").

pow10_at_most(Limit, P) when P * 10 =< Limit -> pow10_at_most(Limit, P * 10);
pow10_at_most(_, P) -> P.

tree_levels(1) -> [1];
tree_levels(L) -> [L | tree_levels(L div 10)].

%% The root's parent is {root, Main}: it sends its sum with the clock reading.
skynet_node(Parent, First, 1) ->
    skynet_reply(Parent, First);
skynet_node(Parent, First, Size) ->
    Step = Size div 10,
    spawn_children(self(), First, Step, 10),
    skynet_reply(Parent, collect(10, 0)).

skynet_reply({root, Main}, Sum) -> Main ! {skynet, Sum, now_ns()};
skynet_reply(Parent, Sum) -> Parent ! Sum.

spawn_children(_, _, _, 0) -> ok;
spawn_children(Self, First, Step, K) ->
    spawn(fun() -> skynet_node(Self, First, Step) end),
    spawn_children(Self, First + Step, Step, K - 1).

collect(0, Sum) -> Sum;
collect(K, Sum) -> receive V -> collect(K - 1, Sum + V) end.

%% ---------------------------------------------------------------- spawn_mem
%% K idle processes that each wait for one message. RSS is read before the
%% first spawn and after the last; then each is sent stop, and the run ends
%% when the emulator's process count is back where it was (the runtime's own
%% count of processes, as troupe's check uses its count of exited actors).
%% The spawner keeps the pids in a list (16 bytes each, counted in
%% bytes_per_actor); its heap is made big enough up front (allocated, not
%% touched) so that the list never has to be copied by a collection.

spawn_mem(Div) ->
    K = scaled(1000000, Div),
    Main = self(),
    {Pid, Ref} = spawn_opt(fun() -> Main ! {spawn_mem, spawn_mem_run(K)} end,
                           [monitor, {min_heap_size, 2 * K + 1024}]),
    receive {spawn_mem, Result} -> ok end,
    receive {'DOWN', Ref, process, Pid, _} -> ok end,
    {Secs, Started, Stopped, Before, After} = Result,
    report("spawn_mem", K, Secs, Started =:= K andalso Stopped =:= K,
           io_lib:format(" bytes_per_actor=~b", [(After - Before) * 1024 div K])).

spawn_mem_run(K) ->
    Base = erlang:system_info(process_count),
    Before = status_kb("VmRSS"),
    T0 = now_ns(),
    Pids = spawn_idle(K, []),
    After = status_kb("VmRSS"),
    Peak = erlang:system_info(process_count),
    stop_all(Pids),
    wait_count(Base),
    T1 = now_ns(),
    Stopped = Peak - erlang:system_info(process_count),
    {secs(T0, T1), Peak - Base, Stopped, Before, After}.

spawn_idle(0, Acc) -> Acc;
spawn_idle(K, Acc) -> spawn_idle(K - 1, [spawn(fun idle/0) | Acc]).

idle() -> receive stop -> ok end.

stop_all([P | Ps]) -> P ! stop, stop_all(Ps);
stop_all([]) -> ok.

wait_count(Base) ->
    case erlang:system_info(process_count) > Base of
        true -> receive after 1 -> wait_count(Base) end;
        false -> ok
    end.

%% ---------------------------------------------------------------- uint64 hashes on limbs
%% A uint64 X is {X0, X1, X2}: X = X0 + X1 * 2^22 + X2 * 2^44, X0 and X1 of
%% 22 bits, X2 of 20. A product mod 2^64 is the schoolbook product of the
%% limbs, dropping what lands at 2^66 and above: every partial product is
%% below 2^44 and every column sum below 2^47, all small integers.

-define(LCG_A, 6364136223846793005).
-define(LCG_C, 1442695040888963407).
-define(FJ_K, 16#9e3779b97f4a7c15).
-define(LIMB0(X), ((X) band ?M22)).
-define(LIMB1(X), (((X) bsr 22) band ?M22)).
-define(LIMB2(X), (((X) bsr 44) band ?M20)).

join(X0, X1, X2) -> (X2 bsl 44) + (X1 bsl 22) + X0.

%% fanout_backpressure's work: 64 rounds of x = x * A + C (mod 2^64).
lcg64(X0, X1, X2) -> lcg(X0, X1, X2, 64).

lcg(X0, X1, X2, 0) ->
    {X0, X1, X2};
lcg(X0, X1, X2, N) ->
    T0 = X0 * ?LIMB0(?LCG_A) + ?LIMB0(?LCG_C),
    T1 = X0 * ?LIMB1(?LCG_A) + X1 * ?LIMB0(?LCG_A) + ?LIMB1(?LCG_C) + (T0 bsr 22),
    T2 = X0 * ?LIMB2(?LCG_A) + X1 * ?LIMB1(?LCG_A) + X2 * ?LIMB0(?LCG_A)
        + ?LIMB2(?LCG_C) + (T1 bsr 22),
    lcg(T0 band ?M22, T1 band ?M22, T2 band ?M20, N - 1).

%% The same on plain integers (bignums), for the cross-check.
lcg64_big(X) -> lcg_big(X, 64).
lcg_big(X, 0) -> X;
lcg_big(X, N) -> lcg_big((X * ?LCG_A + ?LCG_C) band ?M64, N - 1).

%% fanout_fj's work: 32 rounds of x ^= x >> 31; x *= K (mod 2^64).
fj32(X0, X1, X2) -> fj(X0, X1, X2, 32).

fj(X0, X1, X2, 0) ->
    {X0, X1, X2};
fj(X0, X1, X2, N) ->
    %% x >> 31 is bits 31..52 (limb 0: the top 13 bits of X1, the low 9 of
    %% X2) and bits 53..63 (limb 1: the top 11 of X2).
    Z0 = X0 bxor ((X1 bsr 9) bor ((X2 band 16#1FF) bsl 13)),
    Z1 = X1 bxor (X2 bsr 9),
    T0 = Z0 * ?LIMB0(?FJ_K),
    T1 = Z0 * ?LIMB1(?FJ_K) + Z1 * ?LIMB0(?FJ_K) + (T0 bsr 22),
    T2 = Z0 * ?LIMB2(?FJ_K) + Z1 * ?LIMB1(?FJ_K) + X2 * ?LIMB0(?FJ_K) + (T1 bsr 22),
    fj(T0 band ?M22, T1 band ?M22, T2 band ?M20, N - 1).

fj32_big(X) -> fj_big(X, 32).
fj_big(X, 0) -> X;
fj_big(X, N) -> fj_big(((X bxor (X bsr 31)) * ?FJ_K) band ?M64, N - 1).

%% The limb code against the bignum formula: 0..999 and 1,000 values spread
%% over the whole uint64 range.
limbs_agree(LimbFun, BigFun) ->
    Xs = lists:seq(0, 999) ++ [(I * ?FJ_K) band ?M64 || I <- lists:seq(1, 1000)],
    lists:all(fun(X) ->
                      {Y0, Y1, Y2} = LimbFun(?LIMB0(X), ?LIMB1(X), ?LIMB2(X)),
                      join(Y0, Y1, Y2) =:= BigFun(X)
              end, Xs).

%% ---------------------------------------------------------------- fanout_backpressure
%% One producer sends 0..N-1 to one slow consumer, which checks the order and
%% chains each value through its checksum, Acc = lcg64(Acc + V) (mod 2^64, on
%% limbs), as bench/fanout_backpressure.c does. Unbounded
%% mailbox: the producer runs far ahead and the queue grows (rss_kb). The same
%% checksum is computed again afterwards in one process, timed: ceiling_rate=
%% (the work alone) and ratio= (rate / ceiling_rate), as troupe's line has.

fanout_backpressure(Div) ->
    N = scaled(10000000, Div),
    Main = self(),
    T0 = now_ns(),
    Consumer = spawn_opt(fun() -> consumer(0, N, 0, 0, 0, true, Main) end,
                         [{message_queue_data, off_heap}]),
    spawn(fun() -> produce(Consumer, 0, N) end),
    receive {consumed, Received, Sum, InOrder, T1} -> ok end,
    Secs = secs(T0, T1),
    C0 = now_ns(),
    Want = lcg_sum(0, N, 0, 0, 0),
    Ceiling = N / secs(C0, now_ns()),
    Ok = Received =:= N andalso InOrder andalso Sum =:= Want
        andalso limbs_agree(fun lcg64/3, fun lcg64_big/1),
    report("fanout_backpressure", N, Secs, Ok,
           io_lib:format(" ceiling_rate=~b ratio=~.3f", [trunc(Ceiling), N / Secs / Ceiling])).

produce(To, V, N) when V < N -> To ! V, produce(To, V + 1, N);
produce(_, _, _) -> ok.

consumer(N, N, A0, A1, A2, InOrder, Main) ->
    Main ! {consumed, N, join(A0, A1, A2), InOrder, now_ns()};
consumer(Next, N, A0, A1, A2, InOrder, Main) ->
    receive
        V ->
            {B0, B1, B2} = chain(A0, A1, A2, V),
            consumer(Next + 1, N, B0, B1, B2, InOrder andalso V =:= Next, Main)
    end.

%% lcg64(Acc + V) on limbs: each limb's carry goes into the next, and what
%% carries out of the top is dropped (mod 2^64).
chain(A0, A1, A2, V) ->
    S0 = A0 + ?LIMB0(V),
    S1 = A1 + ?LIMB1(V) + (S0 bsr 22),
    S2 = A2 + ?LIMB2(V) + (S1 bsr 22),
    lcg64(S0 band ?M22, S1 band ?M22, S2 band ?M20).

%% The ceiling: the same chain over the same values, in this process alone.
lcg_sum(N, N, A0, A1, A2) -> join(A0, A1, A2);
lcg_sum(V, N, A0, A1, A2) ->
    {B0, B1, B2} = chain(A0, A1, A2, V),
    lcg_sum(V + 1, N, B0, B1, B2).

%% ---------------------------------------------------------------- fanout_fj
%% Fork-join: one producer, 100 receivers, rounds of 10,000 consecutive
%% values sent round-robin (100 to each); a receiver hashes its values and
%% reports their sum (mod 2^64) after its 100; the producer starts the next
%% round once all 100 reports are in. See bench/fanout_fj.c.

-define(FJ_RECEIVERS, 100).
-define(FJ_PER_RECEIVER, 100).

fanout_fj(Div) ->
    Rounds = scaled(3000, Div),
    N = Rounds * ?FJ_RECEIVERS * ?FJ_PER_RECEIVER,
    Main = self(),
    T0 = now_ns(),
    spawn(fun() ->
                  Self = self(),
                  Rs = [spawn(fun() -> fj_receiver(Self, 0, 0, 0, 0) end)
                        || _ <- lists:seq(1, ?FJ_RECEIVERS)],
                  fj_producer(Rs, Rounds, 0, 0, 0, Main)
          end),
    receive {fj, Total, Reports, T1} -> ok end,
    W0 = now_ns(),
    Want = fj_sum(0, N, 0, 0, 0),
    Alone = N / secs(W0, now_ns()),
    Ok = Total =:= Want andalso Reports =:= Rounds * ?FJ_RECEIVERS
        andalso limbs_agree(fun fj32/3, fun fj32_big/1),
    report("fanout_fj", N, secs(T0, T1), Ok,
           io_lib:format(" rounds=~b work_alone_rate=~b", [Rounds, trunc(Alone)])).

fj_producer(Rs, 0, _Next, Total, Reports, Main) ->
    T1 = now_ns(),
    [R ! stop || R <- Rs],
    Main ! {fj, Total, Reports, T1};
fj_producer(Rs, Rounds, Next, Total, Reports, Main) ->
    Next1 = fork(Rs, ?FJ_PER_RECEIVER, Next),
    {Total1, Reports1} = join_reports(?FJ_RECEIVERS, Total, Reports),
    fj_producer(Rs, Rounds - 1, Next1, Total1, Reports1, Main).

%% The fork: Passes passes over the receivers, one value to each per pass.
fork(_, 0, Next) -> Next;
fork(Rs, Passes, Next) -> fork(Rs, Passes - 1, send_each(Rs, Next)).

send_each([R | Rs], V) -> R ! V, send_each(Rs, V + 1);
send_each([], V) -> V.

join_reports(0, Total, Reports) -> {Total, Reports};
join_reports(K, Total, Reports) ->
    receive {report, Sum} -> join_reports(K - 1, (Total + Sum) band ?M64, Reports + 1) end.

%% The sum is kept per limb (each below 100 * 2^22) and joined for the report.
fj_receiver(Producer, ?FJ_PER_RECEIVER, S0, S1, S2) ->
    Producer ! {report, join(S0, S1, S2) band ?M64},
    fj_receiver(Producer, 0, 0, 0, 0);
fj_receiver(Producer, Count, S0, S1, S2) ->
    receive
        V when is_integer(V) ->
            {Y0, Y1, Y2} = fj32(?LIMB0(V), ?LIMB1(V), ?LIMB2(V)),
            fj_receiver(Producer, Count + 1, S0 + Y0, S1 + Y1, S2 + Y2);
        stop -> ok
    end.

%% The check: the same hashes summed over 0..N-1 in this process alone.
fj_sum(N, N, S0, S1, S2) -> join(S0, S1, S2) band ?M64;
fj_sum(V, N, S0, S1, S2) ->
    {Y0, Y1, Y2} = fj32(?LIMB0(V), ?LIMB1(V), ?LIMB2(V)),
    fj_sum(V + 1, N, S0 + Y0, S1 + Y1, S2 + Y2).

%% ---------------------------------------------------------------- broker
%% 1,000 clients meet through one broker for R rounds each: a client asks the
%% broker for a partner in its round ({pair, Self, Round}); the broker keeps
%% the first of a round waiting and pairs it with the next: the waiting one
%% gets {lead, Partner} and serves, the other {follow, Partner}. The pair
%% volley 20 hits ({hit, From, Count}, Count 1..20, each answered by the
%% next), then each goes back to the broker. A follower may get the first hit
%% before its notice, so it answers whoever served. n = pairs * 24. See
%% bench/broker.c.

-define(CLIENTS, 1000).
-define(VOLLEY, 20).

broker(Div) ->
    Rounds = scaled(4000, Div),
    Pairs = ?CLIENTS * Rounds div 2,
    N = Pairs * (4 + ?VOLLEY),
    Main = self(),
    T0 = now_ns(),
    Broker = spawn(fun() -> Main ! {broker_made, broker_loop(#{}, 0, Pairs)} end),
    [spawn(fun() -> Broker ! {pair, self(), 0}, client(Broker, Rounds, 0, 0, 0, Main) end)
     || _ <- lists:seq(1, ?CLIENTS)],
    {Hits, Notices, Exact, T1} = collect_clients(?CLIENTS, 0, 0, 0, T0),
    receive {broker_made, Made} -> ok end,
    Ok = Hits =:= Pairs * ?VOLLEY andalso Notices =:= ?CLIENTS * Rounds
        andalso Exact =:= ?CLIENTS andalso Made =:= Pairs,
    report("broker", N, secs(T0, T1), Ok, io_lib:format(" rounds=~b", [Rounds])).

%% Waiting: round => the client waiting in it (a round has at most one).
broker_loop(_, Made, Made) ->
    Made;
broker_loop(Waiting, Made, Pairs) ->
    receive
        {pair, From, Round} ->
            case maps:take(Round, Waiting) of
                {Leader, Waiting1} ->
                    Leader ! {lead, From},
                    From ! {follow, Leader},
                    broker_loop(Waiting1, Made + 1, Pairs);
                error ->
                    broker_loop(Waiting#{Round => From}, Made, Pairs)
            end
    end.

client(Broker, Rounds, Played, Notices, Hits, Main) ->
    receive
        {hit, _From, ?VOLLEY} ->
            round_done(Broker, Rounds, Played, Notices, Hits + 1, Main);
        {hit, From, I} ->
            From ! {hit, self(), I + 1},
            case I + 1 of
                ?VOLLEY -> round_done(Broker, Rounds, Played, Notices, Hits + 1, Main);
                _ -> client(Broker, Rounds, Played, Notices, Hits + 1, Main)
            end;
        {lead, Partner} ->
            Partner ! {hit, self(), 1},
            client(Broker, Rounds, Played, Notices + 1, Hits, Main);
        {follow, _Partner} ->
            client_check(Broker, Rounds, Played, Notices + 1, Hits, Main)
    end.

%% The end of a volley: back to the broker, or done.
round_done(Broker, Rounds, Played, Notices, Hits, Main) when Played + 1 < Rounds ->
    Broker ! {pair, self(), Played + 1},
    client(Broker, Rounds, Played + 1, Notices, Hits, Main);
round_done(Broker, Rounds, Played, Notices, Hits, Main) ->
    client_check(Broker, Rounds, Played + 1, Notices, Hits, Main).

client_check(_Broker, Rounds, Played, Notices, Hits, Main)
  when Played >= Rounds, Notices >= Rounds ->
    Main ! {client_done, Hits, Notices, Hits =:= Rounds * ?VOLLEY div 2 andalso Notices =:= Rounds,
            now_ns()};
client_check(Broker, Rounds, Played, Notices, Hits, Main) ->
    client(Broker, Rounds, Played, Notices, Hits, Main).

collect_clients(0, Hits, Notices, Exact, T1) ->
    {Hits, Notices, Exact, T1};
collect_clients(K, Hits, Notices, Exact, T1) ->
    receive
        {client_done, H, N, E, T} ->
            collect_clients(K - 1, Hits + H, Notices + N,
                            Exact + case E of true -> 1; false -> 0 end, max(T, T1))
    end.

%% ---------------------------------------------------------------- many_to_many
%% 1,000 processes each send M integers to uniformly random others (each its
%% own xorshift64, seeded from its index, as bench/many_to_many.c, so the
%% traffic is that of troupe's run) and add up what they receive. Value j of
%% process i is i * M + j + 1. Each sends CHUNK values, then takes whatever
%% has come in meanwhile, and goes on; once it has sent its M it waits for the
%% rest of what it was told to expect (the main process replays the
%% generators first, untimed).

-define(PEERS, 1000).
-define(CHUNK, 100).
-define(M32, 16#FFFFFFFF).

%% The generator is kept as two 32-bit halves {Hi, Lo}, so no bignums.
mm_seed(Index) ->
    X = (?FJ_K * (Index + 1)) band ?M64,
    {X bsr 32, X band ?M32}.

%% x ^= x << 13; x ^= x >> 7; x ^= x << 17 on the halves; the destination is
%% ((x >> 32) * (PEERS - 1)) >> 32, skipping Self.
mm_next(H0, L0) ->
    H1 = H0 bxor (((H0 bsl 13) bor (L0 bsr 19)) band ?M32),
    L1 = L0 bxor ((L0 bsl 13) band ?M32),
    L2 = L1 bxor (((L1 bsr 7) bor (H1 bsl 25)) band ?M32),
    H2 = H1 bxor (H1 bsr 7),
    H3 = H2 bxor (((H2 bsl 17) bor (L2 bsr 15)) band ?M32),
    L3 = L2 bxor ((L2 bsl 17) band ?M32),
    {H3, L3}.

mm_dest(H, Self) ->
    case (H * (?PEERS - 1)) bsr 32 of
        D when D >= Self -> D + 1;
        D -> D
    end.

many_to_many(Div) ->
    M = scaled(20000, Div),
    N = ?PEERS * M,
    %% The replay: how many values come to each process, and their sum.
    Count = atomics:new(?PEERS, []),
    WantSum = atomics:new(?PEERS, []),
    [replay(I, M, Count, WantSum) || I <- lists:seq(0, ?PEERS - 1)],
    Main = self(),
    T0 = now_ns(),
    Pids = list_to_tuple([begin
                              Expected = atomics:get(Count, I + 1),
                              spawn(fun() ->
                                            receive {go, Ps} -> ok end,
                                            {H, L} = mm_seed(I),
                                            peer_send(Ps, I, I * M + 1, M, H, L, Expected, 0, 0, Main)
                                    end)
                          end || I <- lists:seq(0, ?PEERS - 1)]),
    [P ! {go, Pids} || P <- tuple_to_list(Pids)],
    {Ok0, Received, Sum, T1} = collect_peers(?PEERS, Count, WantSum, true, 0, 0, T0),
    Ok = Ok0 andalso Received =:= N andalso Sum =:= N * (N + 1) div 2,
    report("many_to_many", N, secs(T0, T1), Ok, "").

replay(I, M, Count, WantSum) ->
    {H, L} = mm_seed(I),
    replay(I, I * M + 1, M, H, L, Count, WantSum).

replay(_, _, 0, _, _, _, _) -> ok;
replay(I, V, Left, H0, L0, Count, WantSum) ->
    {H, L} = mm_next(H0, L0),
    D = mm_dest(H, I),
    atomics:add(Count, D + 1, 1),
    atomics:add(WantSum, D + 1, V),
    replay(I, V + 1, Left - 1, H, L, Count, WantSum).

%% V: the next value to send; Left: how many still to send.
peer_send(Ps, Self, V, Left, H, L, Expected, Received, Sum, Main) when Left > 0 ->
    {V1, Left1, H1, L1} = send_chunk(Ps, Self, V, Left, H, L, ?CHUNK),
    {Received1, Sum1} = take_pending(Received, Sum),
    peer_send(Ps, Self, V1, Left1, H1, L1, Expected, Received1, Sum1, Main);
peer_send(_Ps, Self, _V, _Left, _H, _L, Expected, Received, Sum, Main) ->
    peer_receive(Self, Expected, Received, Sum, Main).

send_chunk(Ps, Self, V, Left, H0, L0, K) when K > 0, Left > 0 ->
    {H, L} = mm_next(H0, L0),
    element(mm_dest(H, Self) + 1, Ps) ! V,
    send_chunk(Ps, Self, V + 1, Left - 1, H, L, K - 1);
send_chunk(_, _, V, Left, H, L, _) ->
    {V, Left, H, L}.

take_pending(Received, Sum) ->
    receive V when is_integer(V) -> take_pending(Received + 1, Sum + V)
    after 0 -> {Received, Sum}
    end.

peer_receive(Self, Expected, Expected, Sum, Main) ->
    Main ! {peer_done, Self, Expected, Sum, now_ns()};
peer_receive(Self, Expected, Received, Sum, Main) ->
    receive V when is_integer(V) -> peer_receive(Self, Expected, Received + 1, Sum + V, Main) end.

collect_peers(0, _, _, Ok, Received, Sum, T1) ->
    {Ok, Received, Sum, T1};
collect_peers(K, Count, WantSum, Ok, Received, Sum, T1) ->
    receive
        {peer_done, I, R, S, T} ->
            Match = R =:= atomics:get(Count, I + 1) andalso S =:= atomics:get(WantSum, I + 1),
            collect_peers(K - 1, Count, WantSum, Ok andalso Match, Received + R, Sum + S,
                          max(T, T1))
    end.
