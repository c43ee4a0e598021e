%% remote_bench: the Erlang/OTP peer of bench/remote_pingpong.c and
%% bench/remote_counting.c: the same work between two nodes of distributed
%% Erlang on loopback, started by bench/remote.sh. Two roles, one per node:
%%
%%   serve pingpong|counting          spawns the responder (pong, or the
%%       counter), registers it with `global` (as troupe's tr_register_global)
%%       and halts when it ends: told to stop by the client, or the client's
%%       process went down (a monitor: noconnection when its node goes).
%%   run pingpong|counting [Divisor]  connects to the node named by
%%       REMOTE_BENCH_SERVER (environment), finds the responder with
%%       global:whereis_name (retrying up to 10 s), does the work, prints the
%%       BENCH line of bench/README.md with impl=erlang, stops the
%%       server and halts.
%%
%% remote_pingpong: R = 100,000 / Divisor round trips between a ping process
%% on the client's node and pong on the server's; n = 2R messages; each round
%% trip is timed (p50_us, p99_us). remote_counting: P = 10 senders on the
%% client's node each send M = 100,000 / Divisor integers to one counter on the
%% server's; when all have sent, the client asks the counter for its count and
%% sum until the count is P * M (a message from another process may overtake
%% the senders' last ones); n = P * M, timed from the first send to the answer
%% to the last ask. Erlang's distribution has its own backpressure: a sender
%% is suspended while the connection's buffer is over its busy limit.
%% Both lines carry server_rss_kb=, the server node's peak RSS.
-module(remote_bench).
-export([main/1]).

-define(PONG, 'bench.pong').
-define(COUNTER, 'bench.counter').
-define(SENDERS, 10).
-define(SERVE_LIMIT_MS, 600000).

main(["serve", What]) -> serve(list_to_atom(What));
main(["run", What]) -> main(["run", What, "1"]);
main(["run", What, DivS]) ->
    Div = list_to_integer(DivS),
    Server = list_to_atom(os:getenv("REMOTE_BENCH_SERVER", "")),
    Ok = run(list_to_atom(What), Server, 100000 div Div),
    halt(case Ok of true -> 0; false -> 1 end);
main(Args) ->
    io:format(standard_error, "usage: remote_bench serve|run pingpong|counting [divisor] (~p)~n",
              [Args]),
    halt(2).

%% ---- Server node --------------------------------------------------------

serve(What) ->
    {Name, Fun} = case What of
                      pingpong -> {?PONG, fun pong/0};
                      counting -> {?COUNTER, fun() -> counter(0, 0) end}
                  end,
    Pid = spawn(fun() -> receive {go, Client} -> watch(Client), Fun() end end),
    Ref = erlang:monitor(process, Pid),
    yes = register_retry(Name, Pid, 100),
    io:format(standard_error, "remote_bench: serving ~s on ~s~n", [Name, node()]),
    receive
        {'DOWN', Ref, process, Pid, _} -> halt(0)
    after ?SERVE_LIMIT_MS ->
        io:format(standard_error, "remote_bench: no client in ~b ms~n", [?SERVE_LIMIT_MS]),
        halt(1)
    end.

%% A name of a node that just went is released when global hears of it.
register_retry(Name, Pid, 0) -> global:register_name(Name, Pid);
register_retry(Name, Pid, Tries) ->
    case global:register_name(Name, Pid) of
        yes -> yes;
        no -> timer:sleep(100), register_retry(Name, Pid, Tries - 1)
    end.

%% The responder's first message comes from the client's main process, which
%% lives until the client's node halts: it is the one to watch.
watch(Client) -> erlang:monitor(process, Client).

pong() ->
    receive
        {ball, From, V} -> From ! {ball, V}, pong();
        {rss, From} -> From ! {rss, status_kb("VmHWM")}, pong();
        stop -> ok;
        {'DOWN', _, process, _, _} -> ok    % the client is gone
    end.

counter(Count, Sum) ->
    receive
        {inc, V} -> counter(Count + 1, Sum + V);
        {get, From, Ref} -> From ! {Ref, Count, Sum, status_kb("VmHWM")}, counter(Count, Sum);
        stop -> ok;
        {'DOWN', _, process, _, _} -> ok
    end.

%% ---- Client node --------------------------------------------------------

run(What, Server, N) ->
    Name = case What of pingpong -> ?PONG; counting -> ?COUNTER end,
    case find(Server, Name, erlang:monotonic_time(millisecond) + 10000) of
        undefined ->
            io:format(standard_error, "remote_bench: ~s not found on ~s in 10 s~n", [Name, Server]),
            false;
        Pid -> work(What, Pid, N)
    end.

find(Server, Name, Deadline) ->
    Found = case net_kernel:connect_node(Server) of
                true -> global:sync(), global:whereis_name(Name);
                _ -> undefined
            end,
    Late = erlang:monotonic_time(millisecond) > Deadline,
    if Found =/= undefined; Late -> Found;
       true -> timer:sleep(50), find(Server, Name, Deadline)
    end.

work(pingpong, Pong, R) ->
    Main = self(),
    Pong ! {go, Main},
    Ping = spawn(fun() -> ping_start(Pong, R, Main) end),
    receive
        {done, Ping, Got, Secs, Samples} ->
            Pong ! {rss, self()},
            SrvRss = receive {rss, Kb} -> Kb after 5000 -> -1 end,
            stop(Pong),
            Sorted = lists:sort(Samples),
            report(remote_pingpong, 2 * R, Secs, Got =:= R,
                   io_lib:format(" p50_us=~.1f p99_us=~.1f server_rss_kb=~b",
                                 [pct_us(Sorted, R, 50), pct_us(Sorted, R, 99), SrvRss]))
    after 120000 ->
        io:format(standard_error, "remote_bench: pingpong did not finish in 120 s~n", []),
        false
    end;
work(counting, Counter, M) ->
    Main = self(),
    Want = ?SENDERS * M,
    Counter ! {go, self()},
    Senders = [spawn(fun() -> receive go -> send_n(Counter, 1, M), Main ! {sent, self()} end end)
               || _ <- lists:seq(1, ?SENDERS)],
    T0 = erlang:monotonic_time(nanosecond),
    [S ! go || S <- Senders],
    [receive {sent, S} -> ok end || S <- Senders],
    {Count, Sum, SrvRss} = poll(Counter, Want, -1, erlang:monotonic_time(millisecond)),
    Secs = (erlang:monotonic_time(nanosecond) - T0) / 1.0e9,
    stop(Counter),
    report(remote_counting, Want, Secs,
           Count =:= Want andalso Sum =:= ?SENDERS * (M * (M + 1) div 2),
           io_lib:format(" server_rss_kb=~b", [SrvRss])).

ping_start(Pong, R, Main) ->
    T0 = erlang:monotonic_time(nanosecond),
    Pong ! {ball, self(), 0},
    ping(Pong, R, 0, T0, T0, [], Main).

%% Each sample is the time from a send to its reply, in nanoseconds.
ping(Pong, R, Got, T0, Sent, Samples, Main) ->
    receive
        {ball, V} ->
            Now = erlang:monotonic_time(nanosecond),
            Ok = V =:= Got,
            S = [Now - Sent | Samples],
            case Got + 1 of
                R when Ok -> Main ! {done, self(), R, (Now - T0) / 1.0e9, S};
                _ when not Ok -> Main ! {done, self(), Got, (Now - T0) / 1.0e9, S};
                N -> Pong ! {ball, self(), N}, ping(Pong, R, N, T0, Now, S, Main)
            end
    end.

send_n(_, I, M) when I > M -> ok;
send_n(To, I, M) -> To ! {inc, I}, send_n(To, I + 1, M).

%% Asks until the count is complete, or it has not moved for 10 s.
poll(Counter, Want, Last, Since) ->
    Ref = make_ref(),
    Counter ! {get, self(), Ref},
    {Count, _, _} = Got = receive {Ref, C, S, Kb} -> {C, S, Kb} after 10000 -> {-1, 0, -1} end,
    Now = erlang:monotonic_time(millisecond),
    if Count =:= Want; Count < 0 -> Got;
       Count =:= Last, Now - Since > 10000 -> Got;
       Count =:= Last -> poll(Counter, Want, Last, Since);
       true -> poll(Counter, Want, Count, Now)
    end.

%% Stops the server's responder and waits until it is gone (at most 5 s), so
%% that the stop has left before this node halts.
stop(Pid) ->
    Ref = erlang:monitor(process, Pid),
    Pid ! stop,
    receive {'DOWN', Ref, process, Pid, _} -> ok after 5000 -> ok end.

%% The k-th smallest, k = max(1, n * pct / 100), as the other p50/p99 lines.
pct_us(Sorted, N, Pct) -> lists:nth(max(1, N * Pct div 100), Sorted) / 1000.

status_kb(Field) ->
    {ok, B} = file:read_file("/proc/self/status"),
    Key = list_to_binary(Field ++ ":"),
    case binary:split(B, Key) of
        [_, Rest] -> [Kb | _] = binary:split(string:trim(Rest), <<" ">>),
                     binary_to_integer(Kb);
        [_] -> -1
    end.

report(Name, N, Secs, Ok, Extra) ->
    io:format("BENCH name=~s impl=erlang workers=~b n=~b secs=~.3f rate=~b rss_kb=~b check=~s~s~n",
              [Name, erlang:system_info(schedulers_online), N, Secs, round(N / Secs),
               status_kb("VmHWM"), case Ok of true -> "ok"; false -> "FAIL" end, Extra]),
    Ok.
