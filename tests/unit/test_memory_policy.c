/* The command's memory policy (src/cli/memory_policy.c): after it, worker
 * threads' buffers come from the one huge-page heap that the main thread
 * grew, not from arenas of their own (glibc's default, which -j 2 paid for
 * with ~5x the page faults).  Checked in a fresh process
 * (tests/support/policy_probe.c, built as km-policy-probe). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/wait.h>

static void run_probe(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[256] = "";
    if (fgets(line, sizeof line, p) == NULL)
        line[0] = 0;
    int status = pclose(p);
    cr_assert(WIFEXITED(status), "%s did not exit", cmd);
    if (WEXITSTATUS(status) == 77)
        cr_skip_test("%s", line);
    cr_assert_eq(WEXITSTATUS(status), 0, "%s", line);
}

Test(memory_policy, threads_share_the_main_heap)
{
    run_probe(KM_POLICY_PROBE);
}

/* After a fork the parent's next buffer starts at a huge page that neither
 * the start-up's writes nor the child share (src/cli/memory_policy.c,
 * fresh_huge_page): not where the heap's top was. */
Test(memory_policy, buffers_after_a_fork_start_at_a_fresh_huge_page)
{
    run_probe(KM_POLICY_PROBE " fork");
}

/* The first buffer after the policy lies in a huge page: the heap's first
 * huge page, written before the huge-page advice (malloc's own state), is
 * in 4 KiB pages, and buffers there took a fault per 4 KiB, ~500 on the
 * bench session; the policy leaves it to a block never written (it no
 * longer makes it one with MADV_COLLAPSE, which under load slept up to
 * 150 ms: bench/HISTORY.md "Session 43 (burst17)"). */
Test(memory_policy, the_first_huge_page_is_one)
{
    run_probe(KM_POLICY_PROBE " first");
}
