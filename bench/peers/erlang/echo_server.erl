%% echo_server HOST PORT: the Erlang/OTP peer of troupe's examples/echo_server.c,
%% a line echo server with one process per connection. gen_tcp frames lines
%% ({packet, line}); each connection's process takes one line at a time
%% ({active, once}), sends it back, and ends when the client closes.
%% PORT 0 picks a free port. Run it with echo_run.sh, or:
%%   erlc echo_server.erl && erl -noshell -run echo_server start HOST PORT
-module(echo_server).
-export([start/1]).
-define(ACCEPTORS, 4).

start([Host, PortS]) ->
    {ok, Ip} = inet:parse_address(Host),
    Opts = [binary, {ip, Ip}, {packet, line}, {active, false}, {reuseaddr, true},
            {backlog, 4096}, {nodelay, true}],
    case gen_tcp:listen(list_to_integer(PortS), Opts) of
        {ok, L} ->
            {ok, Port} = inet:port(L),
            io:format("echo_server (erlang): listening on ~s:~b, a process per connection~n",
                      [Host, Port]),
            %% Several acceptors on the one socket, as ranch does: one alone
            %% takes connections more slowly than a client can make them.
            [spawn_link(fun() -> accept(L) end) || _ <- lists:seq(1, ?ACCEPTORS)],
            receive after infinity -> ok end;
        {error, Reason} ->
            io:format(standard_error, "echo_server: ~s:~s: ~p~n", [Host, PortS, Reason]),
            halt(1)
    end;
start(_) ->
    io:format(standard_error, "usage: echo_server HOST PORT~n", []),
    halt(2).

%% The process that runs start/1 owns the listening socket; each acceptor loops for ever.
accept(L) ->
    case gen_tcp:accept(L) of
        {ok, S} ->
            Pid = spawn(fun() -> receive go -> serve(S) end end),
            ok = gen_tcp:controlling_process(S, Pid),
            Pid ! go;
        {error, Reason} ->          % out of descriptors, say: wait rather than spin
            io:format(standard_error, "echo_server: accept: ~p~n", [Reason]),
            timer:sleep(10)
    end,
    accept(L).

serve(S) ->
    ok = inet:setopts(S, [{active, once}]),
    receive
        {tcp, S, Line} ->
            case gen_tcp:send(S, Line) of
                ok -> serve(S);
                {error, _} -> gen_tcp:close(S)
            end;
        {tcp_closed, S} -> ok;
        {tcp_error, S, _} -> gen_tcp:close(S)
    end.
