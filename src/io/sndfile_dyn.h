/* libsndfile, loaded on first use (src/core/dynlib.h): include after
 * <sndfile.h>; call km_sndfile_load before any sf_* function.  The sf_*
 * names used by src/io are macros for the loaded addresses, so the calls
 * read as libsndfile's own.  Internal to src/io. */
#ifndef KM_SNDFILE_DYN_H
#define KM_SNDFILE_DYN_H

#include <sndfile.h>

#include "knotmap.h"

/* The functions used, one list: the table below and the names looked up. */
#define KM_SNDFILE_FNS(X)                                                                        \
    X(sf_close) X(sf_command) X(sf_error_number) X(sf_format_check) X(sf_get_string) X(sf_open) \
    X(sf_open_fd) X(sf_read_float) X(sf_readf_float) X(sf_set_string) X(sf_strerror)             \
    X(sf_write_float) X(sf_write_sync) X(sf_writef_float)

#define KM_SNDFILE_FIELD(name) __typeof__(name) *name;
typedef struct km_sndfile_api {
    KM_SNDFILE_FNS(KM_SNDFILE_FIELD)
} km_sndfile_api;
#undef KM_SNDFILE_FIELD

extern km_sndfile_api km_sndfile;

/* KM_ERR_UNSUPPORTED naming libsndfile when it cannot be loaded. */
km_status km_sndfile_load(km_ctx *ctx);

#ifndef KM_SNDFILE_LOADER
#define sf_close (km_sndfile.sf_close)
#define sf_command (km_sndfile.sf_command)
#define sf_error_number (km_sndfile.sf_error_number)
#define sf_format_check (km_sndfile.sf_format_check)
#define sf_get_string (km_sndfile.sf_get_string)
#define sf_open (km_sndfile.sf_open)
#define sf_open_fd (km_sndfile.sf_open_fd)
#define sf_read_float (km_sndfile.sf_read_float)
#define sf_readf_float (km_sndfile.sf_readf_float)
#define sf_set_string (km_sndfile.sf_set_string)
#define sf_strerror (km_sndfile.sf_strerror)
#define sf_write_float (km_sndfile.sf_write_float)
#define sf_write_sync (km_sndfile.sf_write_sync)
#define sf_writef_float (km_sndfile.sf_writef_float)
#endif

#endif
