/*
 * dbstore — `brunt serve --postgres DSN --redis URL`: the auctions and bids kept in
 * PostgreSQL, the current bid's compare-and-set as a Redis Lua script (the atomic
 * pattern auction services use), and an auction cache in Redis; with switches that
 * produce the pathologies the database probes must find:
 *   db_missing_index  no index on bids(auction_id): each auction read scans every bid
 *   db_n_plus_one     the listing reads each auction's bid count with its own query
 *   db_cache_miss     one miss in ten is cached, for 1 ms, so reads mostly miss
 *   db_pool           the connection pool's size (a small one makes requests queue)
 *
 * The schema is made fresh at start (DROP + CREATE of brunt_auctions and brunt_bids in
 * the DSN's database, AUCTION_COUNT auctions, DB_SEED_BIDS opening bids of 0) and the
 * Redis keys brunt:bid:N are set to 0, so every run starts from the same state.
 *
 * Handlers run on the server threads and call the database synchronously through a
 * pool slot (one PGconn and one redisContext), waiting for a free slot when all are
 * busy: the thread serves nothing else meanwhile, as a thread-per-request service with
 * that pool would.  This is a test target; it trades the event loop's concurrency for
 * a plain, predictable model of a database-backed service.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/json.h"
#include "server/server_internal.h"

#define DB_SEED_BIDS 20000
#define DB_POOL_MAX 256

/* KEYS[1] = brunt:bid:N, ARGV[1] = amount: accepted (1) only above the current bid. */
static const char cas_lua[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) return 1 end "
    "return 0";

struct slot {
    PGconn *pg;
    redisContext *rd;
    bool busy;
};

struct server_db {
    struct slot *slots;
    int n;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char cas_sha[48];
    bool missing_index, n_plus_one, cache_miss;
    /* counters for /__stats (under lock) */
    uint64_t waits, queries, cache_hits, cache_misses, errors;
};

static struct slot *acquire(struct server_db *d)
{
    struct slot *s = NULL;
    pthread_mutex_lock(&d->lock);
    bool waited = false;
    while (s == NULL) {
        for (int i = 0; i < d->n && s == NULL; i++) {
            if (!d->slots[i].busy) {
                s = &d->slots[i];
                s->busy = true;
            }
        }
        if (s == NULL) {
            waited = true;
            pthread_cond_wait(&d->freed, &d->lock);
        }
    }
    d->waits += waited;
    pthread_mutex_unlock(&d->lock);
    return s;
}

static void release(struct server_db *d, struct slot *s, uint64_t queries, bool hit, bool miss,
                    bool error)
{
    pthread_mutex_lock(&d->lock);
    s->busy = false;
    d->queries += queries;
    d->cache_hits += hit;
    d->cache_misses += miss;
    d->errors += error;
    pthread_cond_signal(&d->freed);
    pthread_mutex_unlock(&d->lock);
}

/* Parses redis://[[user]:password@]host[:port][/db]. */
static int parse_redis(const char *url, char *host, size_t hcap, int *port, char *pw, size_t pcap)
{
    const char *s = strncmp(url, "redis://", 8) == 0 ? url + 8 : url;
    const char *end = s + strcspn(s, "/");
    const char *at = memchr(s, '@', (size_t)(end - s));
    pw[0] = '\0';
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        const char *p = colon ? colon + 1 : s;
        if ((size_t)(at - p) >= pcap) {
            return -EINVAL;
        }
        memcpy(pw, p, (size_t)(at - p));
        pw[at - p] = '\0';
        s = at + 1;
    }
    const char *colon = memchr(s, ':', (size_t)(end - s));
    const char *hend = colon ? colon : end;
    if (hend == s || (size_t)(hend - s) >= hcap) {
        return -EINVAL;
    }
    memcpy(host, s, (size_t)(hend - s));
    host[hend - s] = '\0';
    *port = colon ? atoi(colon + 1) : 6379;
    return *port > 0 && *port < 65536 ? 0 : -EINVAL;
}

static int exec_ok(PGconn *c, const char *sql, char *err, size_t err_len)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err, err_len, "brunt serve: PostgreSQL: %.200s", PQresultErrorMessage(r));
        char *nl = strchr(err, '\n');
        if (nl) {
            *nl = '\0';
        }
        rc = -EIO;
    }
    PQclear(r);
    return rc;
}

static void db_free(struct server_db *d)
{
    if (d == NULL) {
        return;
    }
    for (int i = 0; d->slots && i < d->n; i++) {
        if (d->slots[i].pg) {
            PQfinish(d->slots[i].pg);
        }
        if (d->slots[i].rd) {
            redisFree(d->slots[i].rd);
        }
    }
    free(d->slots);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->freed);
    free(d);
}

void server__db_free(struct server *t)
{
    db_free(t->db);
    t->db = NULL;
}

static int setup_schema(struct server_db *d, PGconn *c, char *err, size_t err_len)
{
    char sql[1024];
    int rc = exec_ok(c,
                     "DROP TABLE IF EXISTS brunt_bids; DROP TABLE IF EXISTS brunt_auctions; "
                     "CREATE TABLE brunt_auctions (id int PRIMARY KEY, title text NOT NULL, "
                     "current_bid bigint NOT NULL DEFAULT 0); "
                     "CREATE TABLE brunt_bids (id bigserial PRIMARY KEY, auction_id int NOT NULL, "
                     "user_id text NOT NULL, amount bigint NOT NULL, "
                     "placed_at timestamptz NOT NULL DEFAULT now())",
                     err, err_len);
    if (rc == 0) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO brunt_auctions SELECT g, 'Auction ' || g FROM "
                 "generate_series(0, %d) g; "
                 "INSERT INTO brunt_bids (auction_id, user_id, amount) SELECT g %% %d, 'seed', 0 "
                 "FROM generate_series(0, %d) g",
                 AUCTION_COUNT - 1, AUCTION_COUNT, DB_SEED_BIDS - 1);
        rc = exec_ok(c, sql, err, err_len);
    }
    if (rc == 0 && !d->missing_index) {
        rc = exec_ok(c, "CREATE INDEX brunt_bids_auction_id ON brunt_bids (auction_id)", err,
                     err_len);
    }
    if (rc == 0) {
        rc = exec_ok(c, "VACUUM ANALYZE brunt_auctions", err, err_len);
    }
    if (rc == 0) {
        rc = exec_ok(c, "VACUUM ANALYZE brunt_bids", err, err_len);
    }
    if (rc == 0 && PQserverVersion(c) >= 150000) {
        /* The set-up's statistics now, not up to 10 s later inside a probed run. */
        rc = exec_ok(c, "SELECT pg_stat_force_next_flush()", err, err_len);
    }
    return rc;
}

static int setup_redis(struct server_db *d, redisContext *rd, char *err, size_t err_len)
{
    redisReply *r = redisCommand(rd, "SCRIPT LOAD %s", cas_lua);
    int rc = 0;
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        snprintf(err, err_len, "brunt serve: Redis: SCRIPT LOAD failed: %s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : rd->errstr);
        rc = -EIO;
    } else {
        snprintf(d->cas_sha, sizeof d->cas_sha, "%s", r->str);
    }
    freeReplyObject(r);
    for (int i = 0; rc == 0 && i < AUCTION_COUNT; i++) {
        redisAppendCommand(rd, "SET brunt:bid:%d 0", i);
        redisAppendCommand(rd, "DEL brunt:auction:%d", i);
    }
    for (int i = 0; rc == 0 && i < 2 * AUCTION_COUNT; i++) {
        void *rep = NULL;
        if (redisGetReply(rd, &rep) != REDIS_OK) {
            snprintf(err, err_len, "brunt serve: Redis: %s", rd->errstr);
            rc = -EIO;
        }
        freeReplyObject(rep);
    }
    return rc;
}

int server__db_start(struct server *t, char *err, size_t err_len)
{
    const struct server_options *o = &t->o;
    struct server_db *d = calloc(1, sizeof *d);
    char host[256], pw[256];
    int port = 0, rc = 0;
    if (d == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->freed, NULL);
    d->n = o->db_pool > 0 ? o->db_pool : 8;
    d->missing_index = o->db_missing_index;
    d->n_plus_one = o->db_n_plus_one;
    d->cache_miss = o->db_cache_miss;
    d->slots = calloc((size_t)d->n, sizeof *d->slots);
    if (d->slots == NULL) {
        db_free(d);
        return -ENOMEM;
    }
    if (o->redis_url == NULL ||
        parse_redis(o->redis_url, host, sizeof host, &port, pw, sizeof pw) < 0) {
        snprintf(err, err_len,
                 "brunt serve: --postgres needs --redis redis://[:password@]host[:port] beside it");
        db_free(d);
        return -EINVAL;
    }
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {o->pg_dsn, "brunt-serve", "5", NULL};
    for (int i = 0; rc == 0 && i < d->n; i++) {
        struct slot *s = &d->slots[i];
        s->pg = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(s->pg) != CONNECTION_OK) {
            snprintf(err, err_len, "brunt serve: cannot connect to PostgreSQL: %.300s",
                     PQerrorMessage(s->pg));
            char *nl = strchr(err, '\n');
            if (nl) {
                *nl = '\0';
            }
            rc = -ECONNREFUSED;
            break;
        }
        PQclear(PQexec(s->pg, "SET client_min_messages = warning"));
        struct timeval tv = {5, 0};
        s->rd = redisConnectWithTimeout(host, port, tv);
        if (s->rd == NULL || s->rd->err) {
            snprintf(err, err_len, "brunt serve: cannot connect to Redis at %s:%d: %s", host, port,
                     s->rd ? s->rd->errstr : "out of memory");
            rc = -ECONNREFUSED;
            break;
        }
        if (pw[0]) {
            redisReply *r = redisCommand(s->rd, "AUTH %s", pw);
            if (r == NULL || r->type == REDIS_REPLY_ERROR) {
                snprintf(err, err_len, "brunt serve: Redis authentication failed");
                rc = -EACCES;
            }
            freeReplyObject(r);
        }
        if (rc == 0) {
            freeReplyObject(redisCommand(s->rd, "CLIENT SETNAME brunt-serve"));
        }
        if (rc == 0 && i == 0) {
            rc = setup_schema(d, s->pg, err, err_len);
            if (rc == 0) {
                rc = setup_redis(d, s->rd, err, err_len);
            }
        }
    }
    if (rc == 0) {
        t->db = d;
    } else {
        db_free(d);
    }
    return rc;
}

/* Runs a parameterised statement; returns its result or NULL (cleared on error). */
static PGresult *q(PGconn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        PQclear(r);
        r = NULL;
    }
    return r;
}

static void add_escaped(struct server_thread *w, const char *s)
{
    char buf[300];
    size_t o = 0;
    for (; *s && o + 3 < sizeof buf; s++) {
        if (*s == '"' || *s == '\\') {
            buf[o++] = '\\';
        }
        buf[o++] = *s;
    }
    buf[o] = '\0';
    server__body_adds(w, buf);
}

int server__db_auction(struct conn *c, const struct req *rq, size_t idx)
{
    struct server_thread *w = c->w;
    struct server_db *d = w->t->db;
    struct slot *s = acquire(d);
    char key[48], id[16], json[512];
    uint64_t nq = 0;
    bool hit = false, error = false;
    snprintf(key, sizeof key, "brunt:auction:%zu", idx);
    snprintf(id, sizeof id, "%zu", idx);
    redisReply *r = redisCommand(s->rd, "GET %s", key);
    json[0] = '\0';
    if (r && r->type == REDIS_REPLY_STRING && r->len < sizeof json) {
        memcpy(json, r->str, r->len);
        json[r->len] = '\0';
        hit = true;
    }
    freeReplyObject(r);
    if (!hit) {
        const char *p[1] = {id};
        PGresult *res = q(s->pg,
                          "SELECT title, current_bid, (SELECT count(*) FROM brunt_bids "
                          "WHERE auction_id = $1) FROM brunt_auctions WHERE id = $1",
                          1, p);
        nq++;
        if (res && PQntuples(res) == 1) {
            snprintf(json, sizeof json,
                     "{\"id\":\"auction_%zu\",\"title\":\"%.100s\",\"current_bid\":%s,"
                     "\"bids\":%s,\"status\":\"active\"}",
                     idx, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
            /* A mostly-missing cache: only one miss in ten is written back, for 1 ms. */
            pthread_mutex_lock(&d->lock);
            bool keep = !d->cache_miss || d->cache_misses % 10 == 0;
            pthread_mutex_unlock(&d->lock);
            if (keep) {
                freeReplyObject(d->cache_miss ? redisCommand(s->rd, "SET %s %s PX 1", key, json)
                                              : redisCommand(s->rd, "SET %s %s EX 30", key, json));
            }
        } else {
            error = true;
        }
        PQclear(res);
    }
    release(d, s, nq, hit, !hit, error);
    if (error) {
        return server__respond_error(c, rq, 500, "database error");
    }
    server__body_reset(w);
    server__body_adds(w, json);
    server__respond_json(c, rq, 200);
    return 200;
}

int server__db_auctions(struct conn *c, const struct req *rq, size_t limit)
{
    struct server_thread *w = c->w;
    struct server_db *d = w->t->db;
    struct slot *s = acquire(d);
    char lim[16];
    uint64_t nq = 1;
    bool error = false;
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *p[1] = {lim};
    PGresult *res =
        d->n_plus_one
            ? q(s->pg, "SELECT id, title, current_bid FROM brunt_auctions ORDER BY id LIMIT $1", 1,
                p)
            : q(s->pg,
                "SELECT a.id, a.title, a.current_bid, (SELECT count(*) FROM brunt_bids b "
                "WHERE b.auction_id = a.id) FROM brunt_auctions a ORDER BY a.id LIMIT $1",
                1, p);
    server__body_reset(w);
    server__body_adds(w, "{\"auctions\":[");
    for (int i = 0; res && i < PQntuples(res); i++) {
        const char *count = "0";
        PGresult *cr = NULL;
        if (d->n_plus_one) {
            const char *ip[1] = {PQgetvalue(res, i, 0)};
            cr = q(s->pg, "SELECT count(*) FROM brunt_bids WHERE auction_id = $1", 1, ip);
            nq++;
            count = cr && PQntuples(cr) == 1 ? PQgetvalue(cr, 0, 0) : "0";
            error |= cr == NULL;
        } else {
            count = PQgetvalue(res, i, 3);
        }
        server__body_adds(w, i ? ",{\"id\":\"auction_" : "{\"id\":\"auction_");
        server__body_adds(w, PQgetvalue(res, i, 0));
        server__body_adds(w, "\",\"title\":\"");
        add_escaped(w, PQgetvalue(res, i, 1));
        server__body_adds(w, "\",\"current_bid\":");
        server__body_adds(w, PQgetvalue(res, i, 2));
        server__body_adds(w, ",\"bids\":");
        server__body_adds(w, count);
        server__body_adds(w, ",\"status\":\"active\"}");
        PQclear(cr);
    }
    server__body_adds(w, "]}");
    error |= res == NULL;
    PQclear(res);
    release(d, s, nq, false, false, error);
    if (error) {
        return server__respond_error(c, rq, 500, "database error");
    }
    server__respond_json(c, rq, 200);
    return 200;
}

int server__db_bid(struct conn *c, const struct req *rq, size_t idx, int64_t amount,
                   const char *user, bool *accepted, int64_t *current)
{
    struct server_thread *w = c->w;
    struct server_db *d = w->t->db;
    struct slot *s = acquire(d);
    char key[48], amt[32], id[16];
    uint64_t nq = 0;
    bool error = false;
    snprintf(key, sizeof key, "brunt:bid:%zu", idx);
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    snprintf(id, sizeof id, "%zu", idx);
    redisReply *r = redisCommand(s->rd, "EVALSHA %s 1 %s %s", d->cas_sha, key, amt);
    *accepted = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    error = r == NULL || r->type == REDIS_REPLY_ERROR;
    freeReplyObject(r);
    if (*accepted) {
        const char *p[3] = {id, user, amt};
        PGresult *res = q(s->pg,
                          "WITH b AS (INSERT INTO brunt_bids (auction_id, user_id, amount) "
                          "VALUES ($1, $2, $3) RETURNING 1) UPDATE brunt_auctions SET "
                          "current_bid = GREATEST(current_bid, $3) WHERE id = $1",
                          3, p);
        nq++;
        error |= res == NULL;
        PQclear(res);
        char ckey[48];
        snprintf(ckey, sizeof ckey, "brunt:auction:%zu", idx);
        freeReplyObject(redisCommand(s->rd, "DEL %s", ckey));
        *current = amount;
    } else if (!error) {
        r = redisCommand(s->rd, "GET %s", key);
        *current = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
        freeReplyObject(r);
    }
    release(d, s, nq, false, false, error);
    return error ? server__respond_error(c, rq, 500, "database error") : 0;
}

bool server__db_invariant_ok(struct server *t)
{
    struct server_db *d = t->db;
    struct slot *s = acquire(d);
    /* One pass over the bids (a hash aggregate), so it is cheap without the index too. */
    PGresult *r = q(s->pg,
                    "SELECT count(*) FROM brunt_auctions a LEFT JOIN (SELECT auction_id, "
                    "max(amount) AS m FROM brunt_bids GROUP BY auction_id) b ON b.auction_id = "
                    "a.id WHERE a.current_bid <> coalesce(b.m, 0)",
                    0, NULL);
    bool ok = r != NULL && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
    PQclear(r);
    release(d, s, 1, false, false, r == NULL);
    return ok;
}

void server__db_stats_json(struct server *t, struct jsonw *w)
{
    struct server_db *d = t->db;
    if (d == NULL) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    jsonw_key(w, "db");
    jsonw_obj_begin(w);
    jsonw_key(w, "pool");
    jsonw_int(w, d->n);
    jsonw_key(w, "pool_waits");
    jsonw_uint(w, d->waits);
    jsonw_key(w, "queries");
    jsonw_uint(w, d->queries);
    jsonw_key(w, "cache_hits");
    jsonw_uint(w, d->cache_hits);
    jsonw_key(w, "cache_misses");
    jsonw_uint(w, d->cache_misses);
    jsonw_key(w, "errors");
    jsonw_uint(w, d->errors);
    jsonw_key(w, "missing_index");
    jsonw_bool(w, d->missing_index);
    jsonw_key(w, "n_plus_one");
    jsonw_bool(w, d->n_plus_one);
    jsonw_key(w, "cache_miss");
    jsonw_bool(w, d->cache_miss);
    jsonw_obj_end(w);
    pthread_mutex_unlock(&d->lock);
}
