/* The summary stage: frame and peak counts, and the hottest peaks of the
 * session at distinct places (km_process_summary.top). */
#include <string.h>

#include "pipeline/engine_internal.h"

void km_stage_summary_init(km_stage_summary *s, const km_session_info *info,
                           const km_peak_params *peaks)
{
    memset(s, 0, sizeof *s);
    s->row_pitch_mm = info->row_pitch_mm;
    s->col_pitch_mm = info->col_pitch_mm;
    s->radius = peaks->min_distance > 1 ? peaks->min_distance : 1;
}

/* Keep the KM_SUMMARY_TOP highest peaks at distinct places: a candidate
 * within the peak window of a kept entry replaces it only when higher, so a
 * knot pressed for a hundred frames is listed once. */
static void top_offer(km_stage_summary *s, const km_top_entry *c)
{
    if (s->n_top == KM_SUMMARY_TOP && !(c->value > s->top[KM_SUMMARY_TOP - 1].value))
        return;
    int keep = 0;
    km_top_entry kept[KM_SUMMARY_TOP];
    for (int i = 0; i < s->n_top; i++) {
        const km_top_entry *e = &s->top[i];
        int32_t dr = e->row > c->row ? e->row - c->row : c->row - e->row;
        int32_t dc = e->col > c->col ? e->col - c->col : c->col - e->col;
        if (dr <= s->radius && dc <= s->radius) {
            if (!(c->value > e->value))
                return;
            continue; /* dropped: c is higher at the same place */
        }
        kept[keep++] = *e;
    }
    int pos = keep;
    while (pos > 0 && c->value > kept[pos - 1].value)
        pos--;
    if (pos >= KM_SUMMARY_TOP)
        return;
    int n = keep < KM_SUMMARY_TOP ? keep + 1 : KM_SUMMARY_TOP;
    for (int i = n - 1; i > pos; i--)
        kept[i] = kept[i - 1];
    kept[pos] = *c;
    memcpy(s->top, kept, (size_t)n * sizeof kept[0]);
    s->n_top = n;
}

void km_stage_summary_frame(km_stage_summary *s, int64_t frame_no, double t, uint32_t flags,
                            const km_peak *pks, size_t np)
{
    if (flags & KM_FRAME_CORRUPT)
        s->n_corrupt++;
    if (flags & KM_FRAME_ALL_CONTACT)
        s->n_all_contact++;
    s->n_peaks += (int64_t)np;
    for (size_t i = 0; i < np; i++) {
        const km_peak *pk = &pks[i];
        km_top_entry c = {frame_no, t, pk->row, pk->col, pk->y * s->row_pitch_mm,
                          pk->x * s->col_pitch_mm, pk->value, pk->prominence};
        if (s->n_top == KM_SUMMARY_TOP && !(pk->value > s->top[KM_SUMMARY_TOP - 1].value))
            break; /* peaks come in value order: no later one can enter */
        top_offer(s, &c);
    }
}

void km_stage_summary_fill(const km_stage_summary *s, km_process_summary *out)
{
    out->n_peaks = s->n_peaks;
    out->n_corrupt_frames = s->n_corrupt;
    out->n_all_contact_frames = s->n_all_contact;
    out->n_top = s->n_top;
    for (int i = 0; i < s->n_top; i++) {
        out->top[i].frame = s->top[i].frame;
        out->top[i].time = s->top[i].time;
        out->top[i].row = s->top[i].row;
        out->top[i].col = s->top[i].col;
        out->top[i].y_mm = s->top[i].y_mm;
        out->top[i].x_mm = s->top[i].x_mm;
        out->top[i].value = s->top[i].value;
        out->top[i].prominence = s->top[i].prominence;
    }
}
