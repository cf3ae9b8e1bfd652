/* hk-drill-pdf.h: the drill report as a PDF a manager can file: A4, in
 * Japanese and English, the verdict large at the top. cairo's PDF surface
 * and pangocairo with Noto Sans CJK JP (fonts-noto-cjk); no GTK. */
#pragma once

#include "hk-drill-report.h"

/* Render r into path (overwritten).
 * \return 0; -HK_EIO with *reason set (g_free) if cairo cannot write it. */
int hk_drill_pdf_write(const HkDrillReport *r, const char *path, char **reason);
