/*
 * libFuzzer target for bench/h2.sh's floor client (tests/tools/h2_floor.c): its frame
 * splitter and frame handling on arbitrary bytes from the server.  The first byte of the
 * input sets the size of the pieces the rest arrives in (1..256 bytes, as reads would
 * bring them).  Invariants: the input buffer never overflows and keeps less than one
 * frame's head plus its payload; the output buffer stays within its size; the streams
 * in flight never go below zero or above what was sent; every answer that ended a
 * stream is counted once.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/h2_floor/.
 */
#define main h2_floor_main
#include "../tools/h2_floor.c"
#undef main

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conn c;
    if (size == 0) {
        return 0;
    }
    struct floor f = {.nconns = 1, .streams = 4};
    memset(&c, 0, sizeof c);
    c.fd = -1;
    c.next_id = 1;
    f.block[f.block_len++] = 0x82;
    f.block[f.block_len++] = 0x86;
    f.block[f.block_len++] = 0x84;
    for (int i = 0; i < f.streams; i++) {
        check(queue_request(&f, &c));
    }
    size_t piece = (size_t)data[0] + 1, at = 1;
    while (at < size) {
        size_t n = size - at < piece ? size - at : piece;
        if (n > IN_BYTES - c.in_len) {
            n = IN_BYTES - c.in_len;
        }
        check(n > 0);
        memcpy(c.in + c.in_len, data + at, n);
        c.in_len += n;
        at += n;
        uint64_t ended = f.requests + f.drained;
        int inflight = c.inflight;
        bool ok = take_frames(&f, &c);
        check(c.in_len <= IN_BYTES && c.out_len <= OUT_BYTES && c.out_off <= c.out_len);
        check(c.inflight >= 0 && (uint32_t)c.inflight <= c.next_id / 2);
        /* each ended stream was refilled (the run is not stopping) */
        check(c.inflight == inflight || f.requests + f.drained > ended);
        if (!ok) {
            break;
        }
        if (c.in_len >= 9) {
            size_t len = (size_t)c.in[0] << 16 | (size_t)c.in[1] << 8 | c.in[2];
            check(c.in_len < len + 9); /* what stays is one partial frame */
        }
        c.out_len = c.out_off = 0; /* written */
    }
    return 0;
}
