/*
 * version — brunt's version, for the CLI, the User-Agent and the result file.
 */
#ifndef BRUNT_CORE_VERSION_H
#define BRUNT_CORE_VERSION_H

#define BRUNT_VERSION "0.1.0"

#endif
