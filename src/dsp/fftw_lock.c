/* The process-wide lock serialising FFTW planning (DESIGN.md section 4).
 * This is knotmap's one piece of global state, and it is required: FFTW's
 * planner keeps global state (wisdom, the plan cache) of its own. */
#include <pthread.h>

#include "dsp_internal.h"

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

void km_fftw_lock(void)
{
    pthread_mutex_lock(&planner_lock);
}

void km_fftw_unlock(void)
{
    pthread_mutex_unlock(&planner_lock);
}
