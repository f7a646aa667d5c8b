/* common.h: the one header every Yingji .c file includes first.
 * It pulls in the standard headers the project uses everywhere and then bans the libc
 * functions that invite overflows (git's banned.h idea): any use fails to compile. */
#ifndef YJ_COMMON_H
#define YJ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "err.h"

#define YJ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define YJ_BANNED(func) sorry_##func##_is_banned_use_a_bounded_alternative
#undef strcpy
#define strcpy(x, y) YJ_BANNED(strcpy)
#undef strcat
#define strcat(x, y) YJ_BANNED(strcat)
#undef sprintf
#define sprintf(...) YJ_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) YJ_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) YJ_BANNED(strtok)
#undef atoi
#define atoi(x) YJ_BANNED(atoi)
#undef atol
#define atol(x) YJ_BANNED(atol)
#undef gets
#define gets(x) YJ_BANNED(gets)

#endif
