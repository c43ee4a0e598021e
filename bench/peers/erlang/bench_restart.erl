%% bench_restart: the Erlang/OTP peer of troupe's bench/restart.c. A real OTP
%% supervisor (one_for_one, intensity 1,000,000 restarts per second, never
%% reached) with one permanent child, registered as bench_child by its start
%% function each time the supervisor starts it. A driver process takes C =
%% 10,000 / Divisor samples, each:
%%
%%   whereis(bench_child) -> Old, clock, Old ! crash, poll whereis
%%   (erlang:yield() between tries) until it names a new pid,
%%   New ! {ping, self()}, receive {pong, New}, clock.
%%
%% rate is restarts per second over the whole run; p50_us and p99_us are the
%% k-th smallest samples (k = max(1, C * pct / 100)). check=ok only if every
%% sample ended with a pong from a new pid and the child was started exactly
%% C + 1 times (the first start and C restarts; a counter its start function
%% bumps). The supervisor's crash reports are not logged (logger level none):
%% printing 10,000 of them would be the benchmark.
%%
%% bench_peer runs it as its benchmark "restart" (restart/1) and prints its
%% BENCH line.
-module(bench_restart).
-behaviour(supervisor).
-export([restart/1, init/1, start_child/1]).

-define(CHILD, bench_child).

%% The benchmark, scaled by Div; returns whether the check passed.
restart(Div) ->
    run(bench_peer:scaled(10000, Div)).

run(C) ->
    ok = logger:set_primary_config(level, none),
    Starts = counters:new(1, []),
    {ok, Sup} = supervisor:start_link(?MODULE, Starts),
    Main = self(),
    T0 = erlang:monotonic_time(nanosecond),
    spawn(fun() -> Main ! {samples, sample(C, [])} end),
    receive {samples, {Ok, Samples, T1}} -> ok end,
    Secs = (T1 - T0) / 1.0e9,
    Restarts = counters:get(Starts, 1) - 1,
    unlink(Sup),
    exit(Sup, shutdown),
    Sorted = lists:sort(Samples),
    Pass = Ok andalso length(Samples) =:= C andalso Restarts =:= C,
    bench_peer:report("restart", C, Secs, Pass,
                      io_lib:format(" p50_us=~.1f p99_us=~.1f",
                                    [percentile_us(Sorted, C, 50), percentile_us(Sorted, C, 99)])).

%% The driver: C samples, each in nanoseconds; stops at the first failure.
sample(0, Acc) ->
    {true, Acc, erlang:monotonic_time(nanosecond)};
sample(K, Acc) ->
    case whereis(?CHILD) of
        Old when is_pid(Old) ->
            T0 = erlang:monotonic_time(nanosecond),
            Old ! crash,
            New = restarted(Old),
            New ! {ping, self()},
            receive {pong, New} -> ok end,
            sample(K - 1, [erlang:monotonic_time(nanosecond) - T0 | Acc]);
        undefined ->
            {false, Acc, erlang:monotonic_time(nanosecond)}
    end.

%% Polls the name until it is the restarted child (unregistered, or still the
%% old one: not yet).
restarted(Old) ->
    case whereis(?CHILD) of
        New when is_pid(New), New =/= Old -> New;
        _ -> erlang:yield(), restarted(Old)
    end.

percentile_us(Sorted, N, Pct) ->
    lists:nth(max(1, N * Pct div 100), Sorted) / 1000.

%% supervisor callback
init(Starts) ->
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1},
          [#{id => child, start => {?MODULE, start_child, [Starts]}, restart => permanent}]}}.

%% The child's start function: a process that answers pings and crashes when
%% told, linked to the supervisor and registered under the benchmark's name.
start_child(Starts) ->
    counters:add(Starts, 1, 1),
    Pid = spawn_link(fun child/0),
    true = register(?CHILD, Pid),
    {ok, Pid}.

child() ->
    receive
        {ping, From} -> From ! {pong, self()}, child();
        crash -> exit(crash)
    end.
