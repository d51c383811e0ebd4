/*
 * assets — the files the HTML report embeds, assembled into the binary (.incbin, paths
 * relative to the top of the tree, where make and scripts/fuzz.sh compile; the Makefile
 * lists the dependencies): uPlot's minified script and stylesheet, pinned in
 * src/report/vendor/package-lock.json and checked by scripts/vendor-verify.sh, and
 * report/charts.js, which builds the interactive charts from the report's data block.
 */
#include "report/assets.h"

#define ASSET(sym, file)                            \
    __asm__(".section .rodata\n"                    \
            ".balign 16\n"                          \
            ".hidden " #sym "\n"                    \
            ".hidden " #sym "_end\n"                \
            ".global " #sym "\n"                    \
            ".global " #sym "_end\n" #sym ":\n"     \
            ".incbin \"" file "\"\n" #sym "_end:\n" \
            ".byte 0\n"                             \
            ".previous\n")

ASSET(brunt_asset_uplot_js, "src/report/vendor/uPlot.iife.min.js");
ASSET(brunt_asset_uplot_css, "src/report/vendor/uPlot.min.css");
ASSET(brunt_asset_charts_js, "src/report/charts.js");

extern const char brunt_asset_uplot_js[], brunt_asset_uplot_js_end[];
extern const char brunt_asset_uplot_css[], brunt_asset_uplot_css_end[];
extern const char brunt_asset_charts_js[], brunt_asset_charts_js_end[];

struct report_asset report_asset_uplot_js(void)
{
    return (struct report_asset){brunt_asset_uplot_js,
                                 (size_t)(brunt_asset_uplot_js_end - brunt_asset_uplot_js)};
}

struct report_asset report_asset_uplot_css(void)
{
    return (struct report_asset){brunt_asset_uplot_css,
                                 (size_t)(brunt_asset_uplot_css_end - brunt_asset_uplot_css)};
}

struct report_asset report_asset_charts_js(void)
{
    return (struct report_asset){brunt_asset_charts_js,
                                 (size_t)(brunt_asset_charts_js_end - brunt_asset_charts_js)};
}
