/* SPDX-License-Identifier: MIT */
/*
 * <linux/slab.h> for kernel code built against uslab (uslab(7), PORTING
 * KERNEL CODE): the slab interface of Linux 6.12, which <uslab.h> has.
 * Reached through pkg-config's uslab-kernel, whose include directory
 * comes before any copy of the kernel's headers.
 */
#ifndef _LINUX_SLAB_H
#define _LINUX_SLAB_H

/* The kernel's types first, as its own header has them (gfp_t). */
#include <linux/types.h>
#include <uslab.h>

#endif /* _LINUX_SLAB_H */
