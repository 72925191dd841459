/* The command's start-up memory policy (memory_policy.h). */
#define _GNU_SOURCE

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "memory_policy.h"

/* A run touches some 20 MB of fresh memory (HDF5's metadata caches, chunk
 * and block buffers), and on virtual machines each 4 KiB first-touch fault
 * is dear: a tiny session took ~4600 of them, about a third of its
 * start-up; km_process on a 60 s session ~3050 without this policy, ~300-700
 * with it (bench/HISTORY.md, "Session 16 (speed)").  So the heap is grown in
 * one step of HEAP_PAD, large buffers come from it rather than from mmap,
 * and the kernel is asked to back it with huge pages (bench/HISTORY.md,
 * "Session 13 (threads)").  The heap starts at a huge-page boundary (the program break
 * is moved up to one first): otherwise where the break falls (address
 * randomisation) decides how many 2 MiB pages the same allocations
 * straddle, and the peak RSS of one command moved by a huge page from run
 * to run (bench/HISTORY.md, "Session 17 (speed)").  Buffers start at its
 * second huge page (first_plug below).  Every thread allocates
 * from that one heap (M_ARENA_MAX 1): glibc gave each worker thread an arena
 * of its own, grown 4 KiB page by page without huge pages, and `-j 2` on two
 * 60 s sessions took ~6600 faults instead of ~1200, `--threads 2` on a
 * 600 s one ~2200-2600 instead of ~800 (bench/HISTORY.md "Session 24
 * (lead)").  A session makes some 16 000 allocations, most of them inside
 * HDF5 under its own lock: the shared arena's lock costs nothing measurable. */
#define HEAP_PAD ((size_t)64 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

/* The advised part of the heap, [heap_lo, heap_hi); empty when not advised. */
static uintptr_t heap_lo, heap_hi;
/* The block that fills the huge page of the heap's top at the last fork. */
static void *fork_plug;
/* The block that fills the heap's first huge page, kept to the end.  That
 * huge page is written before the advice (malloc's own state, the header of
 * the chunk that grows the heap), so the kernel maps it in 4 KiB pages, and
 * the session's first ~2 MB of buffers placed there took ~500 faults.  It
 * was made a huge page by MADV_COLLAPSE, whose lru_add_drain_all waits for
 * a kernel worker on every CPU: 0.2 ms alone, but 1-150 ms of the start
 * asleep whenever the other cores were busy, and so a random part of the
 * wall time of two sessions side by side (bench/HISTORY.md "Session 43
 * (burst17)").  Left out of the advice and taken by this block instead
 * (address space only: its pages are never written), the buffers start at
 * the second huge page, the first touch of which makes it a huge page. */
static void *first_plug;

/* A block that takes the rest of the huge page holding the heap's top, from
 * the top's start (top >= lo, the chunk's 16-byte header before its
 * buffer) to 16 bytes before that huge page's end, so that the next buffer
 * starts at the next huge page; NULL (nothing taken) unless glibc carves
 * it from the top as computed and the advised heap holds the next huge
 * page. */
static void *plug_top(uintptr_t lo)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    uintptr_t brk = (uintptr_t)sbrk(0), top = brk - mallinfo2().keepcost;
    uintptr_t end = (top + 16 + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (top < lo || end < heap_lo || end + HUGE_PAGE > heap_hi || end - top < 64)
        return NULL;
    void *plug = malloc(end - top - 16 - 8); /* a chunk of end - 16 - top bytes */
    if (plug != (void *)(top + 16)) {
        free(plug);
        return NULL;
    }
    return plug;
#else
    (void)lo;
    return NULL;
#endif
}

/* In the parent after a fork (the probe of an HDF5 input, probe.c, before
 * the session's buffers are made): the heap's next buffers start at a
 * fresh huge page.  The huge page that holds the heap's top is shared with
 * the child, and the parent's first write to it splits it into 4 KiB
 * pages, each then written by a fault of its own: on the bench session
 * ~500 of the parent's ~850 faults, ~1.5 ms of CPU time (bench/HISTORY.md
 * "Session 41 (speed15)").  So the rest of that huge page is taken by a
 * block never written, its whole pages given back to the kernel (address
 * space only), kept until the next fork.  It is kept only when it comes
 * from the top (glibc carves the top in order, a chunk's 16-byte header
 * before its buffer), where its size puts the next buffer at the huge
 * page's end; else it is given back. */
static void fresh_huge_page(void)
{
    free(fork_plug); /* at most one: a command of many inputs forks for each */
    fork_plug = plug_top(heap_lo);
    if (fork_plug == NULL)
        return;
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), top = (uintptr_t)fork_plug - 16;
    uintptr_t end = (top + 16 + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t a = (top + 16 + pg - 1) & ~(pg - 1), b = (end - 16) & ~(pg - 1);
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Below this address-space limit (ulimit -v) the heap is not padded: each
 * growth by HEAP_PAD needs that much address space free, and under a 60 MB
 * limit every allocation past the first failed (libhdf5's first one, in
 * H5dont_atexit, is not checked: every command died of SIGSEGV). */
#define PAD_MIN_ADDRESS_SPACE (16 * HEAP_PAD)

void km_cli_memory_policy(void)
{
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
        as.rlim_cur < (rlim_t)PAD_MIN_ADDRESS_SPACE) {
        (void)mallopt(M_ARENA_MAX, 1); /* a thread's arena reserves 64 MiB of address space */
        return;
    }
    if (mallopt(M_TOP_PAD, (int)HEAP_PAD) == 0 || mallopt(M_MMAP_THRESHOLD, (int)HEAP_PAD) == 0 ||
        mallopt(M_TRIM_THRESHOLD, (int)(2 * HEAP_PAD)) == 0 || mallopt(M_ARENA_MAX, 1) == 0)
        return;
    uintptr_t b0 = (uintptr_t)sbrk(0), up = (b0 + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (up > b0 && sbrk((intptr_t)(up - b0)) != (void *)-1)
        b0 = up;
    void *p = malloc(HEAP_PAD / 2); /* the heap grown past it by HEAP_PAD, untouched */
    if (p == NULL)
        return;
    uintptr_t b1 = (uintptr_t)sbrk(0);
    uintptr_t lo = (uintptr_t)p & ~(HUGE_PAGE - 1), hi = b1 & ~(HUGE_PAGE - 1);
    if (lo < b0)
        lo += HUGE_PAGE;
    /* Only when p came from that growth of the program break (not under a
       sanitizer's or valgrind's allocator): [lo, hi) is then malloc's. */
    if (b1 > b0 && (uintptr_t)p + HEAP_PAD / 2 <= b1 && hi > lo + HUGE_PAGE) {
        /* From the second huge page: the first one was written (first_plug). */
        (void)madvise((void *)(lo + HUGE_PAGE), hi - lo - HUGE_PAGE, MADV_HUGEPAGE);
        heap_lo = lo + HUGE_PAGE;
        heap_hi = hi;
    }
    free(p);
    if (heap_hi > heap_lo)
        first_plug = plug_top(lo);
    (void)pthread_atfork(NULL, fresh_huge_page, NULL);
}
