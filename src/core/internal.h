/* Internal helpers shared by every module: error detail, allocation,
 * overflow-checked sizes.  Not installed. */
#ifndef KM_INTERNAL_H
#define KM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "knotmap.h"

#if defined(__GNUC__)
#define KM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KM_PRINTF(a, b)
#endif

/* Record `status` and a printf-style detail on ctx (ctx may be NULL).
 * Returns `status` so callers can write `return km_fail(ctx, ...)`. */
km_status km_fail(km_ctx *ctx, km_status status, const char *fmt, ...) KM_PRINTF(3, 4);
km_status km_vfail(km_ctx *ctx, km_status status, const char *fmt, va_list ap);
/* km_fail of a failure whose errno the caller knows though the detail does
 * not carry strerror's text of it (a file "in use": EWOULDBLOCK).  km_fail
 * keeps errno for KM_ERR_NOT_FOUND, KM_ERR_IO and KM_ERR_CREATE only when
 * the detail carries its text: km_ctx_last_errno is then the failure's own. */
km_status km_fail_errno(km_ctx *ctx, km_status status, int err, const char *fmt, ...) KM_PRINTF(4, 5);
/* Prefix the current detail with "prefix: " (for adding a file name). */
void km_error_prefix(km_ctx *ctx, const char *prefix);
/* Why a file could not be opened or looked at, as the OS says it (errno
 * `err` of stat/open/fopen): ENOTDIR (a file where a folder should be) reads
 * as ENOENT, "No such file or directory"; ELOOP "Too many levels of
 * symbolic links", ENAMETOOLONG "File name too long", ... as strerror. */
const char *km_open_reason(int err);

/* Allocation through the context's allocator.  km_alloc and km_calloc record
 * KM_ERR_NOMEM on ctx when they fail.  km_free(ctx, NULL) is a no-op. */
void *km_alloc(km_ctx *ctx, size_t size);
void *km_calloc(km_ctx *ctx, size_t count, size_t size);
void km_free(km_ctx *ctx, void *ptr);

/* Objects remember the allocator they were made with so that _free needs
 * no context. */
typedef struct km_alloc_ref {
    km_allocator a;
} km_alloc_ref;
km_alloc_ref km_ctx_alloc_ref(const km_ctx *ctx);
void *km_ref_alloc(const km_alloc_ref *ref, size_t size);
void km_ref_free(const km_alloc_ref *ref, void *ptr);
/* A copy of the string s through ref's allocator (km_ref_free frees it);
 * NULL when out of memory, nothing recorded. */
char *km_ref_strdup(const km_alloc_ref *ref, const char *s);

/* The k-th smallest of v[0..n) (0-based, n >= 1, k < n) by quickselect;
 * reorders v.  NaN must not be present. */
float km_select_kth_f(float *v, size_t n, size_t k);
double km_select_kth_d(double *v, size_t n, size_t k);
/* The same value as km_select_kth_f (equal floats aside: which of +0.0
 * and -0.0 is not said), v left partitioned about k alike, by partitions
 * without a branch on the values: faster where the values are in no
 * order (bench/HISTORY.md "Session 40 (speed14)"); eight values at a time
 * with AVX2 (bench/HISTORY.md "Session 42 (speed16)"). */
float km_select_kth_bf(float *v, size_t n, size_t k);
/* After km_select_kth_f or _bf(v, n, j) (or this, with k = j), which leave
 * v partitioned about index j (nothing before it larger, nothing after it
 * smaller): the k-th smallest of v (j <= k < n), selected among v(j..n)
 * only (by km_select_kth_bf); reorders that part alike.  The same value as
 * km_select_kth_f(v, n, k) (equal floats aside: which of +0.0 and -0.0 is
 * not said). */
float km_select_above_f(float *v, size_t n, size_t j, size_t k);
/* The smallest value above 0 of v[0..n) (NaN must not be present), +inf
 * when there is none: four values at a time without a branch (one branch
 * on each value was mispredicted wherever zeros and changes alternate: the
 * bad-taxel warm-up's frame-to-frame changes). */
float km_min_positive_f(const float *v, size_t n);

/* a*b into *out; returns 0 on overflow of SIZE_MAX. */
int km_size_mul(size_t a, size_t b, size_t *out);
/* Check a grid shape against KM_MAX_DIM / KM_MAX_TAXELS: KM_OK or
 * KM_ERR_LIMIT / KM_ERR_INVALID with a detail naming `what`. */
km_status km_check_shape(km_ctx *ctx, int64_t rows, int64_t cols, const char *what);

/* 1 where the compiler can target AVX2 for single functions (GCC or clang
 * on x86; the library is not built with -mavx2): such kernels carry their
 * own target attribute and run only where km_cpu_avx2() says yes. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define KM_AVX2_TARGET 1
#else
#define KM_AVX2_TARGET 0
#endif

/* vpermd indices that pack the lanes an 8-bit mask selects to the front, in
 * order (lane k's index in byte k; the bytes past them 0): an AVX2 kernel
 * loads km_pack8[mask] with _mm_loadl_epi64 and widens it with
 * _mm256_cvtepu8_epi32 (src/core/pack8.c). */
extern const uint64_t km_pack8[256];

/* 1 when the running CPU has AVX2 and the compiler could target it. */
static inline int km_cpu_avx2(void)
{
#if KM_AVX2_TARGET
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* Validity of a taxel given a mask view (NULL = all valid) and its value:
 * mask 1 and finite. */
static inline int km_mask_at(const km_mask *m, int32_t r, int32_t c)
{
    return m == NULL || m->data == NULL || m->data[(ptrdiff_t)r * m->row_stride + c] != 0;
}

/* A file's pressure-unit word (a Tekscan UNITS, an XSENSOR Units) as the
 * unit name knotmap keeps: "kPa", "mmHg", "N/cm2" (also "N/cm^2", N/cm with
 * a superscript two in UTF-8 or Latin-1, "N/sq cm") or "raw", *scale 1; a unit knotmap converts
 * but does not keep (psi, Pa, MPa) gives "kPa", *scale its kPa per unit; any
 * other word NULL (the units are then unknown: assumed and warned).  ASCII
 * case is ignored.  The one table behind km_units_to_kpa (src/core/units.c). */
const char *km_units_from_file(const char *word, double *scale);
/* The units knotmap reads, from that table: "kPa, mmHg, N/cm2, psi, Pa,
 * MPa or raw" (km_units_name's, in order) into buf (cap bytes), for the
 * messages that name them. */
void km_units_list(char *buf, size_t cap);
/* The same names joined by sep, the last (raw) by last, or left out when
 * last is NULL: "kPa|mmHg|N/cm2|psi|Pa|MPa" for ("|", NULL).  The one loop
 * over the table for every list of units a message or help line shows. */
void km_units_join(char *buf, size_t cap, const char *sep, const char *last);
/* Millimetres per unit of a length word from a file ("mm", "cm", "m", "in",
 * '"', or the word spelled out: "millimetres", "milimeters", "inches", ...;
 * ASCII case ignored); 0 for any other word, "" included.  The one table
 * for a Tekscan spacing's unit and an HDF5 coordinate's `units`. */
double km_length_unit_mm(const char *unit);

#endif
