/* SPDX-License-Identifier: MIT */
/*
 * cfi.h - the caller's return addresses, fast: SLAB_STORE_USER's
 * unwinder.
 *
 * libgcc's _Unwind_Backtrace() finds and interprets each frame's
 * call-frame information (CFI) afresh on every call: 1 to 2 us a stack
 * here, which made SLAB_STORE_USER cost 46 times F.  This unwinder reads
 * the same CFI (the .eh_frame every x86-64 object carries, found through
 * glibc's _dl_find_object()), reduces each return address's rule to how
 * to find the frame's CFA (the stack pointer or the frame pointer plus
 * an offset) and where the caller's frame pointer is saved, and caches
 * that per address.  A walk over known addresses is then a hash probe
 * and two loads a frame.
 *
 * It understands what compilers emit for ordinary functions (the CFA on
 * rsp or rbp, rbp and the return address saved at offsets from it).  A
 * frame it does not understand (a signal frame, a CFA by expression as
 * in PLT stubs and realigned stacks) ends the walk as incomplete, and
 * the caller unwinds with libgcc instead.  Code with no CFI ends the
 * stack, as it does for libgcc.
 *
 * What it owns: the rule cache, a fixed table in static memory whose
 * entries are claimed by compare-and-swap and never change or leave.
 * A rule holds while its code is mapped: new code that a dlopen() maps
 * where dlclose() unmapped code that was on a captured stack meets the
 * old code's rules, and a walk through it reads a wrong return address
 * (up to FRAME_MAX above the frame, where an unlucky stack may have
 * no memory); USLAB_UNWIND=libgcc is the way out for such a program.  No lock, no
 * allocation, no system call (_dl_find_object() takes no lock): any
 * thread, a forked child, a signal handler.
 */
#ifndef USLAB_CFI_H
#define USLAB_CFI_H

#include <stdbool.h>

/*
 * Fill frames[0..max) with the return addresses of the caller's callers,
 * innermost first (frames[0] is where the caller of us_unwind() will
 * return).  Returns how many, or -1 if a frame could not be read by
 * rule, in which case the caller should ask libgcc.  Returns -1 at once
 * where the unwinder cannot run (no _dl_find_object(), not x86-64).
 */
int us_unwind(void **frames, unsigned int max);

#endif /* USLAB_CFI_H */
