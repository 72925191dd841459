/* The medians of a row of taxels, NM_LANES at a time: the body of
 * four_medians (SSE2) and eight_medians (AVX2) in src/dsp/neighbour_median.c,
 * written once over these vector operations, which the includer defines:
 * NM_F / NM_I (float and int vectors), NM_LOAD, NM_STORE, NM_SETF, NM_SETI,
 * NM_ZERO, NM_NEQ (float compare, unordered true), NM_MIN, NM_MAX, NM_ADD,
 * NM_MUL, NM_SUBI, NM_ORI, NM_ANDI, NM_EQI, NM_SRAI, NM_F2I, NM_I2F,
 * NM_PICK(a, b, take_b) (b where take_b is all ones), NM_ALL8(u) (every lane
 * of u is 8), NM_SIGNS(f) (the lanes' sign bits), and NM_NAME, NM_ATTR.
 * Included twice; not installed.
 *
 * up, mid and dn point at the padded rows, at the column left of the first
 * taxel.  Neighbours that do not count are +inf, so with u counted ones they
 * sort last and the median is slot (u - 1) / 2 (u odd) or the mean of slots
 * u / 2 - 1 and u / 2 (u even; NaN when u is 0).  Returns the lanes (bit j
 * for the j-th taxel) whose counted neighbours hold both +0.0 and -0.0
 * (their order is the plain form's, not the network's), tested only when
 * zeros_mixed. */
NM_ATTR static unsigned NM_NAME(const float *up, const float *mid, const float *dn,
                                int zeros_mixed, float *out)
{
    const NM_F inf = NM_SETF(INFINITY);
    NM_F v[8] = {NM_LOAD(up),      NM_LOAD(up + 1), NM_LOAD(up + 2), NM_LOAD(mid),
                 NM_LOAD(mid + 2), NM_LOAD(dn),     NM_LOAD(dn + 1), NM_LOAD(dn + 2)};
    NM_I u = NM_ZERO(), pz = u, nz = u;
    for (int i = 0; i < 8; i++) {
        u = NM_SUBI(u, NM_F2I(NM_NEQ(v[i], inf)));
        if (zeros_mixed) {
            NM_I bits = NM_F2I(v[i]);
            pz = NM_ORI(pz, NM_EQI(bits, NM_ZERO()));
            nz = NM_ORI(nz, NM_EQI(bits, NM_SETI((int)0x80000000u)));
        }
    }
    /* Batcher's 19-comparator sort of eight without its last comparator:
       slots 0-4 end in order.  CE: a takes the smaller, b the larger. */
#define CE(a, b)                                                                                   \
    do {                                                                                           \
        NM_F lo_ = NM_MIN(a, b);                                                                   \
        b = NM_MAX(a, b);                                                                          \
        a = lo_;                                                                                   \
    } while (0)
    CE(v[0], v[2]); CE(v[1], v[3]); CE(v[4], v[6]); CE(v[5], v[7]);
    CE(v[0], v[4]); CE(v[1], v[5]); CE(v[2], v[6]); CE(v[3], v[7]);
    CE(v[0], v[1]); CE(v[2], v[3]); CE(v[4], v[5]); CE(v[6], v[7]);
    CE(v[2], v[4]); CE(v[3], v[5]);
    CE(v[1], v[4]); CE(v[3], v[6]);
    CE(v[1], v[2]); CE(v[3], v[4]);
#undef CE
    const NM_F half = NM_SETF(0.5f);
    if (NM_ALL8(u)) {
        NM_STORE(out, NM_MUL(half, NM_ADD(v[3], v[4])));
    } else {
        /* lo = slot (u - 1) / 2, hi = slot u / 2 */
        NM_I il = NM_SRAI(NM_SUBI(u, NM_SETI(1)), 1);
        NM_I ih = NM_SRAI(u, 1);
        NM_F lo = v[0], hi = v[0];
        for (int s = 1; s < 5; s++) {
            NM_I at = NM_SETI(s);
            lo = NM_PICK(lo, v[s], NM_EQI(il, at));
            hi = NM_PICK(hi, v[s], NM_EQI(ih, at));
        }
        NM_I odd = NM_EQI(NM_ANDI(u, NM_SETI(1)), NM_SETI(1));
        NM_F m = NM_PICK(NM_MUL(half, NM_ADD(lo, hi)), lo, odd);
        m = NM_PICK(m, NM_SETF(NAN), NM_EQI(u, NM_ZERO()));
        NM_STORE(out, m);
    }
    return (unsigned)NM_SIGNS(NM_I2F(NM_ANDI(pz, nz)));
}
