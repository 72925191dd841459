/* A small deterministic PRNG for the synthetic sessions: xoshiro256**
 * seeded through splitmix64, normals by Box-Muller.  Our own so the
 * sessions are identical on every platform and libc (rand() is not). */
#ifndef KM_SYNTH_RNG_H
#define KM_SYNTH_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct km_synth_rng {
    uint64_t s[4];
    double spare;
    int has_spare;
} km_synth_rng;

static inline uint64_t km_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Independent streams from one seed: `stream` is mixed into the seed. */
static inline void km_rng_seed(km_synth_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = km_splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0.0;
}

static inline uint64_t km_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t km_rng_next(km_synth_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = km_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = km_rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double km_rng_uniform(km_synth_rng *r)
{
    return (double)(km_rng_next(r) >> 11) * 0x1.0p-53;
}

static inline double km_rng_normal(km_synth_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = 1.0 - km_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = km_rng_uniform(r);
    double m = sqrt(-2.0 * log(u1));
    r->spare = m * sin(6.283185307179586 * u2);
    r->has_spare = 1;
    return m * cos(6.283185307179586 * u2);
}

#endif
