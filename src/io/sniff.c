/* Content sniffing for `--format auto` (docs/FORMAT.md 1.1): the format of
 * a file by its first bytes, then by its name's extension.  Reads nothing
 * itself: reader.c passes the head it read. */
#include <string.h>
#include <strings.h>

#include "reader_internal.h"
#include "text_scan.h"

static int has_prefix(const unsigned char *h, size_t n, const char *magic, size_t len)
{
    return n >= len && memcmp(h, magic, len) == 0;
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (dot == NULL || (slash != NULL && dot < slash))
        return "";
    return dot + 1;
}

static int ext_is(const char *ext, const char *want)
{
    size_t i;
    for (i = 0; ext[i] != '\0' && want[i] != '\0'; i++)
        if ((ext[i] | 0x20) != want[i])
            return 0;
    return ext[i] == '\0' && want[i] == '\0';
}

/* Does a line of the head start with `key` followed by a blank or the end? */
static int head_has_key(const unsigned char *h, size_t n, const char *key)
{
    size_t k = strlen(key);
    size_t i = 0;
    while (i < n) {
        if (n - i > k && memcmp(h + i, key, k) == 0 &&
            (h[i + k] == ' ' || h[i + k] == '\t' || h[i + k] == '\r' || h[i + k] == '\n'))
            return 1;
        while (i < n && h[i] != '\n' && h[i] != '\r') /* LF, CR LF or CR alone */
            i++;
        i++;
    }
    return 0;
}

/* Does a line of the head start with an XSENSOR block key knotmap reads
   (`Frame:`, `Rows:`, `Columns:`, `Cols:`, the field maybe quoted and
   after blanks) and a field separator?  An export without its `Software`
   line or sensel sizes is still one (its reader then names what it lacks). */
static int head_has_xsensor_key(const unsigned char *h, size_t n)
{
    static const char *const keys[] = {"Frame", "Frame #", "Rows", "Columns", "Cols"};
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && (h[j] == ' ' || h[j] == '\t'))
            j++;
        if (j < n && h[j] == '"')
            j++;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t m = strlen(keys[k]), e = j + m;
            if (n - j > m + 1 && memcmp(h + j, keys[k], m) == 0 && h[e] == ':') {
                e++;
                if (e < n && h[e] == '"')
                    e++;
                while (e < n && h[e] == ' ')
                    e++;
                if (e < n && (h[e] == ',' || h[e] == ';' || h[e] == '\t'))
                    return 1;
            }
        }
        while (i < n && h[i] != '\n' && h[i] != '\r')
            i++;
        i++;
    }
    return 0;
}

static int head_contains(const unsigned char *h, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(h + i, s, k) == 0)
            return 1;
    return 0;
}

/* One line of numbers between blanks, commas or semicolons: 1, with *count
   of them; 0 not.  Its first field may be a date and time (pandas'
   DatetimeIndex, a logger's ISO 8601 stamps: a time column, docs/FORMAT.md
   1.4), the decimal mark a comma after ';' or TABs. */
static int line_numbers(const char *p, const char *e, int *count)
{
    const int comma = memchr(p, ';', (size_t)(e - p)) != NULL || memchr(p, '\t', (size_t)(e - p)) != NULL;
    const char *dq;
    int64_t day;
    double secs;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (km_scan_datetime(p, e, comma, &dq, &day, &secs) >= 0 &&
        (dq == e || *dq == ' ' || *dq == '\t' || *dq == ',' || *dq == ';' || *dq == '\r'))
        p = dq;
    while (p < e) {
        const char *q;
        double v;
        if (*p == ' ' || *p == '\t' || *p == ',' || *p == ';' || *p == '\r') {
            p++;
            continue;
        }
        if (km_scan_number(p, e, &q, &v) != 0)
            return 0;
        if (q < e && !(*q == ' ' || *q == '\t' || *q == ',' || *q == ';' || *q == '\r'))
            return 0;
        ++*count;
        p = q;
    }
    return 1;
}

/* The head is numeric text: every complete line (and the first one even
   when cut) holds only numbers between blanks/commas, and one holds one;
   '#' comment lines and a first line of column names over numbers (a
   table from pandas or numpy.savetxt, docs/FORMAT.md 1.4), with a line of
   units under them, or two lines of column levels and the index's name
   (pandas' MultiIndex columns) allowed, after Excel's "sep=;". */
static int head_is_numeric(const unsigned char *h, size_t n)
{
    size_t i = 0;
    int numbers = 0, lines = 0, names = 0;
    km_table_level level1, level2;
    char index_name[32];
    while (i < n) {
        size_t j = i;
        const char *p, *e;
        while (j < n && h[j] != '\n')
            j++;
        if (j == n && i > 0)
            break; /* a cut last line proves nothing */
        p = (const char *)h + i;
        e = (const char *)h + j;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (i == 0 && e - p >= 5 && e - p <= 7 && memcmp(p, "sep=", 4) == 0) {
            i = j + 1; /* Excel's separator hint, "sep=;" (1.4) */
            continue;
        }
        if (p == e || *p != '#') {
            int before = numbers;
            km_table_units u;
            if (!line_numbers(p, e, &numbers)) {
                if (names == 1)
                    km_table_level_line(p, e, 1, &level2);
                if (lines == 0 && names == 1 && km_table_units_line(p, e, &u))
                    names = 2; /* a line of units under the names (s,kPa,kPa) */
                else if (lines == 0 && names == 1 && level2.n == level1.n && level1.repeats)
                    names = 3; /* pandas' two column levels (MultiIndex), 1.4 */
                else if (lines == 0 && names == 3 && km_table_index_name_line(p, e, index_name))
                    names = 4; /* ... and the index's name */
                else if (lines > 0 || names)
                    return 0;
                if (names == 0)
                    km_table_level_line(p, e, 1, &level1);
                names = names ? names : 1;
            } else if (numbers > before) {
                lines++;
            }
        }
        i = j + 1;
    }
    return numbers > 0;
}

static km_format sniff_text(const unsigned char *head, size_t n, const char *ext);

km_format km_sniff_format(const unsigned char *head, size_t n, const char *path)
{
    static const unsigned char hdf5_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    static const unsigned char w64_sig[16] = {'r', 'i', 'f', 'f', 0x2e, 0x91, 0xcf, 0x11,
                                              0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00};
    const char *ext = path != NULL ? extension(path) : "";

    /* HDF5 puts its superblock at 0, 512, 1024, 2048...; a MAT-file of
       v7.3 is HDF5 after a 512-byte user block of MATLAB's header text. */
    for (size_t off = 0; off + 8 <= n; off = off ? off * 2 : 512)
        if (memcmp(head + off, hdf5_sig, 8) == 0)
            return off == 512 && has_prefix(head, n, KM_MAT73_SIG, 19) ? KM_FORMAT_MATLAB : KM_FORMAT_SESSION;
    if (has_prefix(head, n, "RIFF", 4) || has_prefix(head, n, "RF64", 4) || has_prefix(head, n, "FORM", 4) ||
        has_prefix(head, n, "caff", 4) || has_prefix(head, n, "fLaC", 4) ||
        has_prefix(head, n, (const char *)w64_sig, 16))
        return KM_FORMAT_AUDIO;
    /* MAT-files of level 5 (v6, v7): a 116-byte text, then the version and
       the byte order mark. */
    if (has_prefix(head, n, "MATLAB 5.0 MAT-file", 19) && n >= 128 &&
        ((head[126] == 'I' && head[127] == 'M') || (head[126] == 'M' && head[127] == 'I')))
        return KM_FORMAT_MATLAB;
    if (ext_is(ext, "mat")) /* its reader says what is wrong (a v4 file, say) */
        return KM_FORMAT_MATLAB;
    if (has_prefix(head, n, "# Created by Octave", 19)) /* save -text, any name: that reader names it */
        return KM_FORMAT_MATLAB;
    if (has_prefix(head, n, "\x93NUMPY", 6) || ext_is(ext, "npy"))
        return KM_FORMAT_NPY;
    /* .npz: a zip archive whose first member is a .npy file (other zip
       files, a spreadsheet say, only by the name) */
    if (has_prefix(head, n, "PK\3\4", 4) && n >= 30) {
        size_t nl = (size_t)head[26] | (size_t)head[27] << 8;
        if (nl >= 4 && 30 + nl <= n && memcmp(head + 30 + nl - 4, ".npy", 4) == 0)
            return KM_FORMAT_NPZ;
    }
    if (ext_is(ext, "npz"))
        return KM_FORMAT_NPZ;
    return sniff_text(head, n, ext);
}

/* The text formats, by their content, then by the name's extension. */
static km_format sniff_text(const unsigned char *head, size_t n, const char *ext)
{
    const char *utf16 = km_utf16_name(head, n);
    char utf8[KM_SNIFF_BYTES / 2 * 3 + 4];
    if (utf16 != NULL) { /* sniffed on its UTF-8 conversion, as it will be read */
        size_t skip = km_utf16_has_bom(head, n) ? 2 : 0, used = 0, m;
        unsigned hi = 0;
        m = km_utf16_to_utf8(head + skip, n - skip, strcmp(utf16, "UTF-16BE") == 0, &hi, utf8, sizeof utf8,
                             &used);
        if (m != (size_t)-1) {
            head = (const unsigned char *)utf8;
            n = m;
        }
    }
    size_t bom = km_utf8_bom_len(head, n); /* the text rules read past it */
    head += bom;
    n -= bom;
    if (has_prefix(head, n, "DATA_TYPE", 9) || head_has_key(head, n, "ASCII_DATA") ||
        (head_has_key(head, n, "ROWS") && head_has_key(head, n, "COLS")))
        return KM_FORMAT_TEKSCAN;
    /* XSENSOR: wide exports name their taxel columns S_<row>_<col> (an
       insole's first one may be S_1_5; the separator may be ';' or TAB);
       block exports carry the key "Sensel Width"/"Sensel Height", and
       their blocks the keys "Frame:", "Rows:", "Columns:". */
    if (head_contains(head, n, "S_1_1,") || head_contains(head, n, "S_0_0,") ||
        head_contains(head, n, "XSENSOR") || head_contains(head, n, "Sensel Width") ||
        head_contains(head, n, "Sensel Height") || head_has_xsensor_key(head, n))
        return KM_FORMAT_XSENSOR;
    for (size_t i = 0; i + 5 <= n; i++) {
        size_t j = i + 2, d1, d2;
        if (head[i] != 'S' || head[i + 1] != '_' || (i > 0 && head[i - 1] != ',' && head[i - 1] != ';' &&
                                                     head[i - 1] != '\t' && head[i - 1] != '"'))
            continue;
        for (d1 = 0; j < n && head[j] >= '0' && head[j] <= '9'; j++)
            d1++;
        if (d1 == 0 || j >= n || head[j] != '_')
            continue;
        for (j++, d2 = 0; j < n && head[j] >= '0' && head[j] <= '9'; j++)
            d2++;
        if (d2 > 0 && j < n && (head[j] == ',' || head[j] == ';' || head[j] == '\t' || head[j] == '"'))
            return KM_FORMAT_XSENSOR;
    }
    if (n > 0 && head_is_numeric(head, n))
        return KM_FORMAT_TEXT;
    if (ext_is(ext, "h5") || ext_is(ext, "hdf5"))
        return KM_FORMAT_SESSION;
    if (ext_is(ext, "wav") || ext_is(ext, "w64") || ext_is(ext, "rf64") || ext_is(ext, "caf") ||
        ext_is(ext, "aif") || ext_is(ext, "aiff") || ext_is(ext, "flac"))
        return KM_FORMAT_AUDIO;
    if (ext_is(ext, "asf"))
        return KM_FORMAT_TEKSCAN;
    /* Text by name: its reader then says which line is wrong. */
    if (ext_is(ext, "txt") || ext_is(ext, "csv") || ext_is(ext, "tsv") || ext_is(ext, "dat"))
        return KM_FORMAT_TEXT;
    return KM_FORMAT_AUTO;
}

/* The head starts with `prefix` (case ignored when `icase`), after blanks. */
static int starts(const unsigned char *h, size_t n, const char *prefix, int icase)
{
    size_t i = 0, m = strlen(prefix);
    while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == '\r' || h[i] == '\n'))
        i++;
    if (n - i < m)
        return 0;
    return icase ? strncasecmp((const char *)h + i, prefix, m) == 0 : memcmp(h + i, prefix, m) == 0;
}

const char *km_sniff_foreign(const unsigned char *h, size_t n)
{
    /* SVG and HTML are text: an editor may have saved them with a UTF-8
       byte order mark before the first tag (the binary kinds have none) */
    size_t bom = km_utf8_bom_len(h, n);
    const unsigned char *t = h + bom;
    size_t tn = n - bom;
    if (starts(h, n, "\x89PNG\r\n\x1a\n", 0))
        return "a PNG picture (knotmap render writes these), not a recording";
    if (starts(h, n, "%PDF-", 0))
        return "a PDF document (knotmap render writes these), not a recording";
    if (starts(t, tn, "<svg", 1) || (starts(t, tn, "<?xml", 1) && head_contains(t, tn, "<svg")))
        return "an SVG picture (knotmap render writes these), not a recording";
    if (starts(t, tn, "<!doctype html", 1) || starts(t, tn, "<html", 1))
        return "an HTML page (knotmap report writes these), not a recording";
    if (starts(h, n, "\xff\xd8\xff", 0) || starts(h, n, "GIF8", 0))
        return "a picture (JPEG or GIF), not a recording";
    if (starts(h, n, "PK\3\4", 0) && head_contains(h, n, "xl/"))
        return "an Excel workbook: save its sheet as CSV (a text table knotmap reads)";
    if (starts(h, n, "PK\3\4", 0))
        return "a zip archive (not a numpy .npz): take the recording out of it first";
    if (starts(h, n, "\x1f\x8b", 0))
        return "gzip-compressed: decompress it first (gunzip)";
    return NULL;
}
