/* The command's start-up memory policy (a process-wide choice the library
 * never makes), shared with knotmap-bench so that its end-to-end children
 * run km_process under the same policy as `knotmap process`. */
#ifndef KM_CLI_MEMORY_POLICY_H
#define KM_CLI_MEMORY_POLICY_H

/* Grow malloc's heap once, serve large buffers from it and advise huge
 * pages for it (memory_policy.c says why).  Call first thing in a process,
 * before any thread starts; changes no result; any failure leaves malloc's
 * defaults.  Under an address-space limit (ulimit -v) below 1 GiB only one
 * arena is asked for: the heap's padding needs 64 MiB free at each growth. */
void km_cli_memory_policy(void);

#endif
