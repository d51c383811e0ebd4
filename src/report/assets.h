/*
 * assets — files embedded in the binary for the HTML report (report/assets.c).
 */
#ifndef BRUNT_REPORT_ASSETS_H
#define BRUNT_REPORT_ASSETS_H

#include <stddef.h>

struct report_asset {
    const char *data; /* not NUL-terminated within len (a NUL follows it) */
    size_t len;
};

struct report_asset report_asset_uplot_js(void);
struct report_asset report_asset_uplot_css(void);
struct report_asset report_asset_charts_js(void);

#endif
