/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* The largest cost regex_cost() may return for a pattern to be compiled.
 * glibc's regcomp() builds an automaton about as large as the cost, and its
 * epsilon closures grow with its square where parts are optional. Measured
 * on this project's build machine (glibc 2.36) at cost 1024: at most 10 MiB
 * and 17 ms (".{1,1023}", "((a?){1,15}){1,31}"), 110 ms for
 * "((.*)*){255}"; repetitions of parts that can match the empty string are
 * weighed by the square of their count, as an anchor before them makes
 * regcomp() take the cube ("^(){,200}x": 1.1 s, now cost 2728). At 4096, "((a?){1,31}){1,63}" took 100 MiB; each stacked
 * "+" doubles the cost ("a" and 22 "+": 3 GiB, 3.7 s). The classic guest
 * pattern costs 32, the default one (with Proxmox VE's kvm) 35. */
#define REGEX_COST_MAX 1024

/* Estimate the size of the automaton an extended regular expression (POSIX
 * ERE, as regcomp(REG_EXTENDED)) expands to, before compiling it: each atom
 * counts 1 (a group the sum of its contents), "*", "+" and "?" double what
 * they apply to, "{n}", "{n,m}" and glibc's "{,m}" multiply it by the largest
 * bound plus one, "{n,}" by n + 2; stacked quantifiers multiply again; an
 * unbounded one ("*", "+", "{n,}") on a part of cost c > 1 adds c * c / 64.
 * Stacked quantifiers ("a++", "a*?") cost UINT64_MAX: refused. Pure; saturates at UINT64_MAX. */
uint64_t regex_cost(const char *pattern);
