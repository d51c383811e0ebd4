#!/usr/bin/env bash
# dbserver.sh — a throwaway PostgreSQL 15 or Redis 7 on a free loopback port, in a
# directory of its own, for the tests and the demo (never for anything that must last).
#
#   scripts/dbserver.sh postgres DIR [NAME=VALUE...]   start PostgreSQL; prints env lines
#   scripts/dbserver.sh redis DIR [--option value...]  start Redis (no persistence)
#   scripts/dbserver.sh stop DIR                       stop what was started in DIR
#
# DIR must not exist yet or be empty; everything the server writes goes under it, and
# `stop` removes nothing but the server's own files (the caller removes DIR).
#
# PostgreSQL: initdb (UTF8, no fsync), pg_stat_statements preloaded, listen on
# 127.0.0.1:PORT only, socket in DIR, password (scram-sha-256) over TCP and trust on the
# socket. The superuser is `postgres`; a database `brunt` with the pg_stat_statements
# extension exists. NAME=VALUE pairs are passed as `-c NAME=VALUE` (e.g.
# max_connections=20). PostgreSQL refuses to run as root, so as root the server runs as
# the `postgres` user (or, when there is none, a system user `brunt-db` this script
# creates) through runuser; DIR is then owned by that user.
# Prints, one per line: PG_HOST, PG_PORT, PG_USER, PG_PASSWORD, PG_DB, PG_DSN (a URL
# with the password), PG_DATA, PG_BIN, PG_RUNAS (the user the server runs as).
#
# Redis: `redis-server` with --save '' --appendonly no, bound to 127.0.0.1:PORT,
# daemonized with its pid file in DIR; extra arguments go to redis-server as they are
# (e.g. --requirepass secret --maxmemory 2mb). Prints REDIS_PORT and REDIS_URL.
#
# The port is chosen free at start (bound once by python and released); a start that
# loses the race fails with the server's log shown. Exit status: 0 started or stopped,
# 1 bad usage, 2 the server did not start (its log is printed on stderr).
set -euo pipefail

PG_VERSION=${PG_VERSION:-15}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_VERSION/bin}

say() { printf 'dbserver: %s\n' "$*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_as USER CMD...: run a command as USER (we are root) or as ourselves.
run_as() {
    local user=$1
    shift
    if [[ -n $user ]]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

# pg_user: the user PostgreSQL runs as: empty when we are not root.
pg_user() {
    if ((EUID != 0)); then
        return 0
    fi
    if id postgres >/dev/null 2>&1; then
        echo postgres
        return 0
    fi
    if ! id brunt-db >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin brunt-db >/dev/null
    fi
    echo brunt-db
}

start_postgres() {
    local dir=$1 user port pw i
    shift
    [[ -x $PG_BIN/initdb ]] || {
        say "no $PG_BIN/initdb: install postgresql-$PG_VERSION (scripts/setup.sh)"
        exit 2
    }
    user=$(pg_user)
    mkdir -p "$dir"
    [[ -n $user ]] && chown "$user:" "$dir"
    # A password only this run knows (never a fixed one); written for initdb to read.
    pw=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    run_as "$user" sh -c "umask 077 && printf '%s\n' '$pw' >'$dir/pwfile'"
    if ! run_as "$user" "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync \
        >"$dir/initdb.log" 2>&1; then
        say "initdb failed:"
        cat "$dir/initdb.log" >&2
        exit 2
    fi
    rm -f "$dir/pwfile"
    local opts=(-c listen_addresses=127.0.0.1 -c "unix_socket_directories=$dir"
        -c shared_preload_libraries=pg_stat_statements -c fsync=off
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=50
        -c logging_collector=off)
    local kv
    for kv in "$@"; do
        [[ $kv == *=* ]] || {
            say "postgres settings are NAME=VALUE, got '$kv'"
            exit 1
        }
        opts+=(-c "$kv")
    done
    for i in 1 2 3; do
        port=$(free_port)
        if run_as "$user" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-p $port ${opts[*]}" start >"$dir/pg_ctl.log" 2>&1; then
            break
        fi
        port=
    done
    if [[ -z $port ]]; then
        say "PostgreSQL did not start; its log:"
        tail -n 30 "$dir/server.log" >&2 || true
        exit 2
    fi
    echo "$port" >"$dir/pg.port"
    echo "$user" >"$dir/pg.user"
    if ! run_as "$user" "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -c 'CREATE DATABASE brunt' \
        -c '\c brunt' -c 'CREATE EXTENSION pg_stat_statements' >"$dir/psql.log" 2>&1; then
        say "creating the database failed:"
        cat "$dir/psql.log" >&2
        exit 2
    fi
    printf 'PG_HOST=127.0.0.1\nPG_PORT=%s\nPG_USER=postgres\nPG_PASSWORD=%s\nPG_DB=brunt\n' \
        "$port" "$pw"
    printf 'PG_DSN=postgresql://postgres:%s@127.0.0.1:%s/brunt\n' "$pw" "$port"
    printf 'PG_DATA=%s\nPG_BIN=%s\nPG_RUNAS=%s\nPG_SOCKDIR=%s\n' "$dir/data" "$PG_BIN" "$user" "$dir"
}

start_redis() {
    local dir=$1 port i
    shift
    command -v redis-server >/dev/null || {
        say "no redis-server: install redis-server (scripts/setup.sh)"
        exit 2
    }
    mkdir -p "$dir"
    for i in 1 2 3; do
        port=$(free_port)
        rm -f "$dir/redis.pid"
        if redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$dir/redis.pid" --dir "$dir" \
            --logfile "$dir/redis.log" "$@" >"$dir/redis.start" 2>&1; then
            # Bounded wait for it to answer (5 s).
            local j
            for ((j = 0; j < 100; j++)); do
                if [[ -s $dir/redis.pid ]] &&
                    redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning ping 2>/dev/null |
                    grep -qE 'PONG|NOAUTH'; then
                    echo "$port" >"$dir/redis.port"
                    printf 'REDIS_PORT=%s\nREDIS_URL=redis://127.0.0.1:%s/0\n' "$port" "$port"
                    return 0
                fi
                sleep 0.05
            done
            stop_redis "$dir"
        fi
    done
    say "Redis did not start; its log:"
    tail -n 30 "$dir/redis.log" "$dir/redis.start" >&2 2>/dev/null || true
    exit 2
}

stop_redis() {
    local dir=$1 pid i
    [[ -s $dir/redis.pid ]] || return 0
    pid=$(cat "$dir/redis.pid")
    # Only the redis-server this script started (its pid file, its command line).
    if [[ $pid =~ ^[0-9]+$ ]] && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            [[ -e /proc/$pid ]] || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/redis.pid"
}

stop_postgres() {
    local dir=$1 user
    [[ -f $dir/data/postmaster.pid ]] || return 0
    user=$(cat "$dir/pg.user" 2>/dev/null || true)
    run_as "$user" "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
}

case ${1:-} in
postgres)
    (($# >= 2)) || {
        say "usage: $0 postgres DIR [NAME=VALUE...]"
        exit 1
    }
    dir=$2
    shift 2
    start_postgres "$dir" "$@"
    ;;
redis)
    (($# >= 2)) || {
        say "usage: $0 redis DIR [--option value...]"
        exit 1
    }
    dir=$2
    shift 2
    start_redis "$dir" "$@"
    ;;
stop)
    (($# == 2)) || {
        say "usage: $0 stop DIR"
        exit 1
    }
    stop_redis "$2"
    stop_postgres "$2"
    ;;
*)
    say "usage: $0 postgres|redis|stop DIR ..."
    exit 1
    ;;
esac
